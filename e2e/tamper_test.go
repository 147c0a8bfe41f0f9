package e2e

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	_ "modernc.org/sqlite"
)

// A ciphertext copied to another secret or another version, or altered in
// place, answers DecryptionFailure: every value is bound to its secret ARN and
// version id.
func TestMovedOrAlteredCiphertextFailsToDecrypt(t *testing.T) {
	s := startServer(t, "")
	ctx := ctx(t)
	c := s.client(testRegion)
	a, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("a"), SecretString: aws.String("value of a")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("b"), SecretString: aws.String("value of b")})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("a"), SecretString: aws.String("a, second")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("d"), SecretString: aws.String("value of d")})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()

	db, err := sql.Open("sqlite", filepath.Join(s.DataDir, "coffer.db"))
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		res, err := db.Exec(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("%s: %d rows changed, want 1", q, n)
		}
	}
	// b's current version gets a's first ciphertext (moved to another secret).
	exec(`UPDATE versions SET ciphertext = (SELECT ciphertext FROM versions WHERE version_id = ?) WHERE version_id = ?`, *a.VersionId, *b.VersionId)
	// a's second version gets a's first ciphertext (moved to another version).
	exec(`UPDATE versions SET ciphertext = (SELECT ciphertext FROM versions WHERE version_id = ?) WHERE version_id = ?`, *a.VersionId, *a2.VersionId)
	// d's ciphertext has its last byte flipped.
	var ct []byte
	if err := db.QueryRow(`SELECT ciphertext FROM versions WHERE version_id = ?`, *d.VersionId).Scan(&ct); err != nil {
		t.Fatal(err)
	}
	ct[len(ct)-1] ^= 1
	exec(`UPDATE versions SET ciphertext = ? WHERE version_id = ?`, ct, *d.VersionId)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, s.DataDir)
	c2 := s2.client(testRegion)
	for _, id := range []string{"b", "a", "d"} {
		_, err := c2.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		wantAPIError(t, err, "DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the provided KMS key.")
	}
	// The untouched version still opens.
	got, err := c2.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("a"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(got.SecretString) != "value of a" {
		t.Fatalf("untouched version: %+v, %v", got, err)
	}
}
