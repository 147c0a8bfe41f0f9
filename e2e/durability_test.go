package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestValuesSurviveRestart(t *testing.T) {
	s := startServer(t, "")
	ctx := ctx(t)
	if _, err := s.client(testRegion).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("kept"), SecretString: aws.String("survives")}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if code := s.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, stderr:\n%s", code, s.Stderr())
	}
	s2 := startServer(t, s.DataDir)
	got, err := s2.client(testRegion).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("kept")})
	if err != nil || aws.ToString(got.SecretString) != "survives" {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
}

// Every write acknowledged to a client survives a kill -9 of the server.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	s := startServer(t, "")
	ctx := ctx(t)
	c := s.client(testRegion)
	// One secret per writer: a secret keeps at most 100 versions a day.
	for w := range 8 {
		if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("counter-%d", w)), SecretString: aws.String("0")}); err != nil {
			t.Fatal(err)
		}
	}
	type ack struct{ secret, value string }
	var mu sync.Mutex
	acked := map[string]ack{} // version id -> secret and value
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				val := fmt.Sprintf("w%d-%d", w, i)
				name := fmt.Sprintf("counter-%d", w)
				out, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(val)})
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked[aws.ToString(out.VersionId)] = ack{name, val}
				n := len(acked)
				mu.Unlock()
				if n >= 400 {
					return
				}
			}
		}()
	}
	// Kill once a good number of writes were acknowledged, while writers run.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes acknowledged in 20s", n)
		}
		time.Sleep(time.Millisecond)
	}
	s.Kill()
	wg.Wait()
	s2 := startServer(t, s.DataDir)
	c2 := s2.client(testRegion)
	for vid, a := range acked {
		got, err := c2.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(a.secret), VersionId: aws.String(vid)})
		if err != nil || aws.ToString(got.SecretString) != a.value {
			t.Fatalf("acknowledged version %s lost after kill -9: %+v, %v", vid, got, err)
		}
	}
	t.Logf("%d acknowledged writes all present after kill -9", len(acked))
}

// No plaintext value ever reaches the disk: search every file of the data
// directory (database, WAL, key files) for a marked value.
func TestNoPlaintextOnDisk(t *testing.T) {
	s := startServer(t, "")
	ctx := ctx(t)
	c := s.client(testRegion)
	canary := "CANARY-7f3c9a1e-value-that-must-never-be-on-disk"
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("canary"), SecretString: aws.String(canary)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("canary"), SecretBinary: []byte(canary + "-bin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("canary")}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		needles := [][]byte{[]byte("CANARY-7f3c9a1e"), []byte(base64.StdEncoding.EncodeToString([]byte(canary))[:20])}
		files := 0
		err := filepath.WalkDir(s.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			files++
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, n := range needles {
				if bytes.Contains(b, n) {
					t.Errorf("%s: %s contains the secret value", when, path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(s.DataDir, "coffer.db")); err != nil || files < 2 {
			t.Fatalf("%s: %d files and no database in the data directory; the search looked at nothing useful", when, files)
		}
	}
	check("while running")
	s.Stop()
	check("after shutdown")
	if strings.Contains(s.Stdout()+s.Stderr(), "CANARY-7f3c9a1e") {
		t.Error("the server's output contains the secret value")
	}
}
