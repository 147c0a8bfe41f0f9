package postgres

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/storagetest"
)

// TestSnapshotRoundTrip exports a store with every kind of record and
// restores it into an empty one: every record reads back the same.
func TestSnapshotRoundTrip(t *testing.T) {
	src, dst := openTest(t, freshSchema(t)), openTest(t, freshSchema(t))
	defer src.Close()
	defer dst.Close()
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AAAAAA"
	err := src.Update(t.Context(), func(tx storage.Tx) error {
		for _, err := range []error{
			tx.InsertAccount(&storage.Account{ID: "123456789012", Created: base}),
			tx.InsertAccessKey(&storage.AccessKey{ID: "AKIAX", Account: "123456789012", Principal: "p", SecretCiphertext: []byte{0, 1}, Active: true, Created: base}),
			tx.InsertEntity(&storage.Entity{Account: "123456789012", Kind: storage.EntityUser, Name: "Alice", ID: "AIDA", Path: "/", Created: base, Doc: []byte(`{"a":1}`)}),
			tx.InsertKey(&storage.Key{Account: "123456789012", Region: "us-east-1", KeyID: "k", Material: []byte{9}, Created: base}),
			tx.InsertSecret(&storage.Secret{ARN: arn, Account: "123456789012", Region: "us-east-1", Name: "a", Description: "d",
				Tags: []storage.Tag{{Key: "k", Value: "v"}}, TagsSet: true, Stages: map[string][]string{"v2": {"AWSCURRENT"}, "v1": {"AWSPREVIOUS"}},
				Created: base, LastChanged: base, Attrs: []byte(`{"x":true}`)}),
			tx.InsertVersion(&storage.Version{SecretARN: arn, VersionID: "v2", Created: base, Ciphertext: []byte("two")}),
			tx.InsertVersion(&storage.Version{SecretARN: arn, VersionID: "v1", Created: base, Ciphertext: []byte("one")}),
			tx.InsertVersion(&storage.Version{SecretARN: arn, VersionID: "p", Created: base.Add(time.Second)}),
			tx.AppendAudit(&storage.AuditRecord{Seq: 1, Time: base, Account: "123456789012", EventName: "CreateSecret", Doc: []byte(`{"n":1}`), Hash: []byte{1}}),
			tx.AppendAudit(&storage.AuditRecord{Seq: 2, Time: base.Add(time.Millisecond), Account: "123456789012", EventName: "GetSecretValue", Doc: []byte(`{"n":2}`), PrevHash: []byte{1}, Hash: []byte{2}}),
			tx.InsertAuditDigest(&storage.AuditDigest{Seq: 2, Hash: []byte{2}, Time: base, KeyID: "audit-1", Signature: []byte{7, 7}}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want, file := storagetest.ExportSnapshot(t, src, base)
	if len(want) != 11 {
		t.Fatalf("exported %d records, want 11", len(want))
	}
	if bytes.Contains(file, []byte("two")) {
		t.Errorf("a ciphertext is in the file in clear") // base64 hides it
	}
	n, err := storage.Restore(t.Context(), dst, bytes.NewReader(file), 3, nil)
	if err != nil || n != 11 {
		t.Fatalf("Restore: %d records, %v", n, err)
	}
	got, _ := storagetest.ExportSnapshot(t, dst, base)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restored records differ:\n got %+v\nwant %+v", got, want)
	}
	// The restored trail goes on from its head.
	storagetest.CheckAuditContinues(t, dst, 2, []byte{2})
	// A second restore into a store that is not empty is refused.
	if _, err := storage.Restore(t.Context(), dst, bytes.NewReader(file), 3, nil); err == nil {
		t.Error("Restore into a non-empty store: no error")
	}
	// A truncated file is refused.
	if _, err := storage.Restore(t.Context(), openTest(t, freshSchema(t)), bytes.NewReader(file[:len(file)-5]), 100, nil); err == nil {
		t.Error("Restore of a truncated file: no error")
	}
}

// TestLease: one holder at a time; renewal; takeover after expiry; release.
func TestLease(t *testing.T) {
	u := freshSchema(t)
	a, b := openTest(t, u), openTest(t, u)
	defer a.Close()
	defer b.Close()
	ctx := t.Context()
	ttl := 300 * time.Millisecond
	mustHold := func(db *DB, holder string, want bool) {
		t.Helper()
		got, err := db.AcquireLease(ctx, "purge", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%s holds: %v, want %v", holder, got, want)
		}
	}
	mustHold(a, "A", true)
	mustHold(b, "B", false)
	mustHold(a, "A", true) // renew
	time.Sleep(ttl + 100*time.Millisecond)
	mustHold(b, "B", true) // A did not renew: taken over
	mustHold(a, "A", false)
	if err := b.ReleaseLease(ctx, "purge", "B"); err != nil {
		t.Fatal(err)
	}
	mustHold(a, "A", true) // released: free at once
}
