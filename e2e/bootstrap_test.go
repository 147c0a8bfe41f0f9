package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// On a first start without fixed credentials coffer generates an account and
// a root key, writes them to a 0600 credentials file and prints them once.
func TestFirstStartGeneratesCredentials(t *testing.T) {
	dir := t.TempDir()
	// Empty values count as unset, so the fixed test identity is not used.
	unset := []string{"COFFER_ACCOUNT_ID=", "COFFER_ROOT_ACCESS_KEY_ID=", "COFFER_ROOT_SECRET_ACCESS_KEY="}
	s := startServer(t, dir, unset...)
	m := regexp.MustCompile(`created account (\d{12}).*\n\s+export AWS_ACCESS_KEY_ID=(AKIA[A-Z0-9]{16})\n\s+export AWS_SECRET_ACCESS_KEY=(\S{40})\n`).FindStringSubmatch(s.Stdout())
	if m == nil {
		t.Fatalf("first start did not print the credentials:\n%s", s.Stdout())
	}
	account, keyID, secret := m[1], m[2], m[3]
	st, err := os.Stat(filepath.Join(dir, "credentials"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, %v (want mode 0600)", st, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "credentials"))
	if !strings.Contains(string(b), "[coffer]\naws_access_key_id = "+keyID+"\naws_secret_access_key = "+secret+"\n") {
		t.Fatalf("credentials file is not in the aws CLI's format:\n%s", b)
	}
	ctx := ctx(t)
	out, err := s.clientWith(testRegion, keyID, secret).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("x"), SecretString: aws.String("y")})
	if err != nil || !strings.Contains(aws.ToString(out.ARN), ":"+account+":secret:x-") {
		t.Fatalf("CreateSecret with the generated key: %+v, %v", out, err)
	}
	s.Stop()

	// The second start reuses them and prints no secret.
	s2 := startServer(t, dir, unset...)
	if strings.Contains(s2.Stdout(), secret) || strings.Contains(s2.Stdout(), "created account") {
		t.Fatalf("second start printed credentials again:\n%s", s2.Stdout())
	}
	if _, err := s2.clientWith(testRegion, keyID, secret).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
}
