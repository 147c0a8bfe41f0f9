package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// runCoffer runs the coffer binary with args and env and returns stdout; it
// fails the test on a non-zero exit.
func runCoffer(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("coffer %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// deployment is what a client can see of a deployment, for comparing one
// before a move with the same after it.
type deployment struct {
	Secrets map[string]secretView
}

type secretView struct {
	Description string
	Tags        []types.Tag
	Policy      string
	Stages      map[string][]string
	Values      map[string]string // version id -> value
	Deleted     bool
}

func snapshotOf(t *testing.T, s *server) deployment {
	t.Helper()
	cx := ctx(t)
	cl := s.client(testRegion)
	d := deployment{Secrets: map[string]secretView{}}
	list, err := cl.ListSecrets(cx, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true), MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list.SecretList {
		id := e.ARN
		desc, err := cl.DescribeSecret(cx, &secretsmanager.DescribeSecretInput{SecretId: id})
		if err != nil {
			t.Fatal(err)
		}
		v := secretView{Description: aws.ToString(desc.Description), Tags: desc.Tags, Stages: desc.VersionIdsToStages,
			Values: map[string]string{}, Deleted: desc.DeletedDate != nil}
		slices.SortFunc(v.Tags, func(a, b types.Tag) int { return strings.Compare(aws.ToString(a.Key), aws.ToString(b.Key)) })
		if pol, err := cl.GetResourcePolicy(cx, &secretsmanager.GetResourcePolicyInput{SecretId: id}); err == nil {
			v.Policy = aws.ToString(pol.ResourcePolicy)
		}
		if !v.Deleted {
			// Every version, labelled or not.
			vs, err := cl.ListSecretVersionIds(cx, &secretsmanager.ListSecretVersionIdsInput{SecretId: id,
				IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(100)})
			if err != nil {
				t.Fatal(err)
			}
			for _, ver := range vs.Versions {
				vid := aws.ToString(ver.VersionId)
				out, err := cl.GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: id, VersionId: aws.String(vid)})
				if err != nil {
					t.Fatalf("%s version %s: %v", aws.ToString(e.Name), vid, err)
				}
				v.Values[vid] = aws.ToString(out.SecretString) + string(out.SecretBinary)
			}
		}
		d.Secrets[aws.ToString(e.Name)] = v
	}
	return d
}

// TestBackupMovesBetweenBackends fills a SQLite deployment, backs it up,
// restores it into PostgreSQL, serves it from there, backs that up and
// restores it into a new SQLite directory: every secret, version, label,
// tag, policy and the access key come through, values still opening with
// the same root key.
func TestBackupMovesBetweenBackends(t *testing.T) {
	dbURL := pgDatabase(t)
	cx := ctx(t)

	// 1. A SQLite deployment with a little of everything.
	src := startServer(t, "")
	cl := src.client(testRegion)
	for _, in := range []*secretsmanager.CreateSecretInput{
		{Name: aws.String("app/db"), SecretString: aws.String("first"), Description: aws.String("the db"),
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}, {Key: aws.String("env"), Value: aws.String("prod")}}},
		{Name: aws.String("app/bin"), SecretBinary: []byte{0, 1, 2, 0xff}},
		{Name: aws.String("app/gone"), SecretString: aws.String("bye")},
	} {
		if _, err := cl.CreateSecret(cx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"second", "third"} {
		if _, err := cl.PutSecretValue(cx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("app/db"), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.PutSecretValue(cx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("app/db"),
		SecretString: aws.String("staged"), VersionStages: []string{"custom"}}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:DeleteSecret","Resource":"*"}]}`
	if _, err := cl.PutResourcePolicy(cx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String("app/bin"), ResourcePolicy: aws.String(policy)}); err != nil {
		t.Logf("PutResourcePolicy: %v (policies not compared)", err)
	}
	if _, err := cl.DeleteSecret(cx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("app/gone"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	want := snapshotOf(t, src)
	src.Stop()
	if db := want.Secrets["app/db"]; len(want.Secrets) != 3 || len(db.Values) != 4 || len(db.Tags) != 2 {
		t.Fatalf("the source deployment is not what the test made: %+v", want)
	}

	// 2. SQLite -> file -> PostgreSQL (with the same root key).
	file := filepath.Join(t.TempDir(), "coffer.backup")
	out := runCoffer(t, nil, "backup", file, "--data-dir", src.DataDir)
	if !strings.Contains(out, "records") {
		t.Errorf("backup output: %q", out)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"first", "second", "third", "staged"} {
		if bytes.Contains(raw, []byte(`"`+plain+`"`)) || bytes.Contains(raw, []byte(plain+"\"")) {
			t.Errorf("backup file holds the value %q in clear", plain)
		}
	}
	pgDir := t.TempDir()
	copyFile(t, filepath.Join(src.DataDir, "root.key"), pgDir)
	runCoffer(t, []string{"COFFER_STORAGE=" + dbURL}, "restore", file, "--data-dir", pgDir)
	// Restoring twice is refused: the store is no longer empty.
	cmd := exec.Command(binPath, "restore", file, "--data-dir", pgDir, "--storage", dbURL)
	if err := cmd.Run(); err == nil {
		t.Error("a second restore into the same database: no error")
	}
	onPG := startServer(t, pgDir, "COFFER_STORAGE="+dbURL)
	if got := snapshotOf(t, onPG); !reflect.DeepEqual(got, want) {
		t.Errorf("on PostgreSQL after restore:\n got %+v\nwant %+v", got, want)
	}
	// The moved deployment takes writes.
	if _, err := onPG.client(testRegion).PutSecretValue(cx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("app/bin"), SecretString: aws.String("after move")}); err != nil {
		t.Fatal(err)
	}
	want = snapshotOf(t, onPG)

	// 3. PostgreSQL (online) -> file -> a new SQLite directory.
	file2 := filepath.Join(t.TempDir(), "coffer2.backup")
	runCoffer(t, []string{"COFFER_STORAGE=" + dbURL}, "backup", file2, "--data-dir", pgDir)
	onPG.Stop()
	back := t.TempDir()
	copyFile(t, filepath.Join(src.DataDir, "root.key"), back)
	runCoffer(t, nil, "restore", file2, "--data-dir", back)
	onSQLite := startServer(t, back)
	if got := snapshotOf(t, onSQLite); !reflect.DeepEqual(got, want) {
		t.Errorf("back on SQLite:\n got %+v\nwant %+v", got, want)
	}
	// The root access key came through as it was (same creation time and
	// sealed secret), not re-created by the server's bootstrap.
	keyLine := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, `"kind":"accessKey"`) {
				return l
			}
		}
		t.Fatalf("%s holds no access key", path)
		return ""
	}
	if keyLine(file) != keyLine(file2) {
		t.Error("the access key changed on the way SQLite -> PostgreSQL")
	}
}
