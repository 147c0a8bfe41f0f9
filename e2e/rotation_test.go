package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

const pgSingleUser = "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:SecretsManagerRDSPostgreSQLRotationSingleUser"

// RotateSecret as AWS answers it: an unknown function is AccessDenied and
// saves nothing; a configured schedule shows in DescribeSecret;
// CancelRotateSecret keeps the settings and turns rotation off.
func TestRotateSecretConfiguration(t *testing.T) {
	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)
	// A database nothing listens on: the built-in's steps that connect fail.
	value := `{"engine":"postgres","host":"127.0.0.1","port":1,"username":"app","password":"initial-pw","dbname":"app"}`
	cr, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("rot"), SecretString: aws.String(value)})
	if err != nil {
		t.Fatal(err)
	}
	v1 := *cr.VersionId

	_, err = c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rot"),
		RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:123456789012:function:does-not-exist"),
		RotationRules:     &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)}})
	wantAPIError(t, err, "AccessDeniedException", "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.")
	d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("rot")})
	if err != nil {
		t.Fatal(err)
	}
	if d.RotationEnabled != nil || d.RotationLambdaARN != nil || d.RotationRules != nil || d.NextRotationDate != nil {
		t.Errorf("a refused RotateSecret saved something: %+v", d)
	}
	_, err = c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rot")})
	wantAPIError(t, err, "InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")
	_, err = c.CancelRotateSecret(ctx, &secretsmanager.CancelRotateSecretInput{SecretId: aws.String("rot")})
	wantAPIError(t, err, "InvalidRequestException", "")
	_, err = c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rot"), RotationLambdaARN: aws.String(pgSingleUser),
		RotationRules: &types.RotationRulesType{ScheduleExpression: aws.String("cron(30 16 1,15 * ? *)")}})
	wantAPIError(t, err, "InvalidParameterException", "")

	// Configure without rotating: the validation run (testSecret on a
	// copy) fails against the dead database and removes its copy.
	_, err = c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rot"), RotationLambdaARN: aws.String(pgSingleUser),
		RotateImmediately: aws.Bool(false),
		RotationRules:     &types.RotationRulesType{ScheduleExpression: aws.String("cron(0 16 1,15 * ? *)"), Duration: aws.String("2h")}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(stagesOf(t, c, "rot")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the validation version stayed: %v", stagesOf(t, c, "rot"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantLabels(t, "after validation", stagesOf(t, c, "rot"), map[string][]string{v1: {"AWSCURRENT"}})
	d, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("rot")})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(d.RotationEnabled) || aws.ToString(d.RotationLambdaARN) != pgSingleUser || d.RotationRules == nil ||
		aws.ToInt64(d.RotationRules.AutomaticallyAfterDays) != 14 || aws.ToString(d.RotationRules.Duration) != "2h" ||
		aws.ToString(d.RotationRules.ScheduleExpression) != "cron(0 16 1,15 * ? *)" || d.NextRotationDate == nil || d.LastRotatedDate != nil {
		t.Errorf("DescribeSecret after configuring: %+v rules %+v", d, d.RotationRules)
	}
	if next := d.NextRotationDate.UTC(); next.Hour() != 18 || (next.Day() != 1 && next.Day() != 15) {
		t.Errorf("NextRotationDate %v: want the end of a 2h window from 16:00 on the 1st or 15th", next)
	}

	// Rotate now: the placeholder is AWSPENDING at once, so a second
	// RotateSecret is refused; the run fails at setSecret (no database).
	rr, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rot"), ClientRequestToken: aws.String("11111111-1111-1111-1111-111111111111")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(rr.VersionId) != "11111111-1111-1111-1111-111111111111" {
		t.Errorf("RotateSecret VersionId = %q", aws.ToString(rr.VersionId))
	}
	_, err = c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rot")})
	wantAPIError(t, err, "InvalidRequestException", "A previous rotation isn't complete. That rotation will be reattempted.")

	cancel, err := c.CancelRotateSecret(ctx, &secretsmanager.CancelRotateSecretInput{SecretId: aws.String("rot")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cancel.VersionId) != *rr.VersionId {
		t.Errorf("CancelRotateSecret VersionId = %q, want the interrupted version", aws.ToString(cancel.VersionId))
	}
	d, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("rot")})
	if err != nil {
		t.Fatal(err)
	}
	if d.RotationEnabled == nil || *d.RotationEnabled || aws.ToString(d.RotationLambdaARN) != pgSingleUser || d.RotationRules == nil || d.NextRotationDate != nil {
		t.Errorf("DescribeSecret after cancel: %+v", d)
	}
	if got := d.VersionIdsToStages[*rr.VersionId]; len(got) != 1 || got[0] != "AWSPENDING" {
		t.Errorf("the interrupted version's labels: %v (cancel leaves AWSPENDING)", got)
	}
	gv, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rot")})
	if err != nil || aws.ToString(gv.SecretString) != value {
		t.Errorf("AWSCURRENT changed by a failed rotation (err %v)", err)
	}

	// The operator's view, on the stopped server's store.
	s.Stop()
	env := []string{"AWS_REGION=" + testRegion, "COFFER_STORAGE="}
	out := runCoffer(t, env, "rotation", "status", "rot", "--data-dir", s.DataDir)
	for _, want := range []string{"rot", "false", pgSingleUser, "cron(0 16 1,15 * ? *) (window 2h)", "unfinished: AWSPENDING on " + *rr.VersionId} {
		if !strings.Contains(out, want) {
			t.Errorf("coffer rotation status lacks %q:\n%s", want, out)
		}
	}
	t.Logf("coffer rotation status rot:\n%s", out)
	if strings.Contains(out, "initial-pw") {
		t.Error("coffer rotation status printed the secret value")
	}
	// A dry run against the dead database fails and changes nothing.
	cmd := exec.Command(binPath, "rotate", "rot", "--dry-run", "--data-dir", s.DataDir)
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	t.Logf("coffer rotate --dry-run: %v\n%s", err, b)
	if err == nil || strings.Contains(string(b), "initial-pw") {
		t.Errorf("coffer rotate --dry-run: err %v, output %s", err, b)
	}
	if again := runCoffer(t, env, "rotation", "status", "--data-dir", s.DataDir); !strings.Contains(again, "unfinished") {
		t.Errorf("status after the dry run:\n%s", again)
	}
}

// A full rotation through the binary with the built-in PostgreSQL
// single-user rotator: the engine's four steps end with the new password
// AWSCURRENT, the old one AWSPREVIOUS, LastRotatedDate set.
func TestRotateSecretPostgresSingleUser(t *testing.T) {
	dbURL := pgDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	c0, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(c0, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var b [4]byte
	_, _ = rand.Read(b[:])
	user := "rot_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(c0, "CREATE ROLE "+user+" LOGIN PASSWORD 'first-pw-123'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+user) })

	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)
	value := fmt.Sprintf(`{"engine":"postgres","host":%q,"port":%s,"username":%q,"password":"first-pw-123","dbname":%q}`,
		u.Hostname(), u.Port(), user, strings.TrimPrefix(u.Path, "/"))
	cr, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("pg"), SecretString: aws.String(value)})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("pg"), RotationLambdaARN: aws.String(pgSingleUser),
		RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var d *secretsmanager.DescribeSecretOutput
	for {
		if d, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("pg")}); err != nil {
			t.Fatal(err)
		}
		if d.LastRotatedDate != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rotation after 20s; labels %v\n%s", d.VersionIdsToStages, s.Stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantLabels(t, "after rotation", stagesOf(t, c, "pg"), map[string][]string{*cr.VersionId: {"AWSPREVIOUS"}, *rr.VersionId: {"AWSCURRENT"}})
	want := time.Now().UTC().Add(30 * 24 * time.Hour)
	if d.NextRotationDate == nil || d.NextRotationDate.Sub(want) > 25*time.Hour || want.Sub(*d.NextRotationDate) > 25*time.Hour {
		t.Errorf("NextRotationDate %v, want about 30 days on", d.NextRotationDate)
	}
	gv, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("pg")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(aws.ToString(gv.SecretString), "first-pw-123") {
		t.Error("the password did not change")
	}
}
