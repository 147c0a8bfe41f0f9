package postgres

import (
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// BenchmarkGetPath is the store's part of a GetSecretValue: one View with
// the secret by name and its current version.
func BenchmarkGetPath(b *testing.B) {
	db := openTest(b, freshSchema(b))
	defer db.Close()
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:b-AAAAAA"
	err := db.Update(b.Context(), func(tx storage.Tx) error {
		if err := tx.InsertSecret(&storage.Secret{ARN: arn, Account: "123456789012", Region: "us-east-1", Name: "b",
			Stages: map[string][]string{"v1": {"AWSCURRENT"}}, Created: time.Now()}); err != nil {
			return err
		}
		return tx.InsertVersion(&storage.Version{SecretARN: arn, VersionID: "v1", Created: time.Now(), Ciphertext: make([]byte, 200)})
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.View(b.Context(), func(tx storage.Tx) error {
				if _, err := tx.SecretByName("123456789012", "us-east-1", "b"); err != nil {
					return err
				}
				_, err := tx.Version(arn, "v1")
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
