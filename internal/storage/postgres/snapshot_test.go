package postgres

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
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
	export := func(db *DB) ([]storage.Record, []byte) {
		var buf bytes.Buffer
		w, err := storage.NewSnapshotWriter(&buf, base)
		if err != nil {
			t.Fatal(err)
		}
		var recs []storage.Record
		if err := db.Export(t.Context(), func(r storage.Record) error {
			if r.Version != nil {
				r.Version.Seq = 0 // assigned anew on restore
			}
			recs = append(recs, r)
			return w.Write(r)
		}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return recs, buf.Bytes()
	}
	want, file := export(src)
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
	got, _ := export(dst)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restored records differ:\n got %+v\nwant %+v", got, want)
	}
	// The restored trail goes on from its head.
	err = dst.Update(t.Context(), func(tx storage.Tx) error {
		seq, hash, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if seq != 2 || !bytes.Equal(hash, []byte{2}) {
			t.Errorf("restored AuditHead: %d %x, want 2 02", seq, hash)
		}
		return tx.AppendAudit(&storage.AuditRecord{Seq: 3, Time: base, Account: "123456789012", EventName: "x", Doc: []byte("{}"), PrevHash: hash, Hash: []byte{3}})
	})
	if err != nil {
		t.Errorf("append after restore: %v", err)
	}
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

// TestSnapshotFormatRefusals: files a reader must refuse rather than load
// in part or misread. (Pure format checks; they live here because the
// storage package's own tests belong to another owner.)
func TestSnapshotFormatRefusals(t *testing.T) {
	const header = `{"format":"coffer-snapshot","version":1,"created":"2025-06-01T00:00:00Z"}` + "\n"
	for name, file := range map[string]string{
		"not a snapshot": `{"hello":1}` + "\n",
		"newer version":  `{"format":"coffer-snapshot","version":2,"created":"2025-06-01T00:00:00Z"}` + "\n" + `{"kind":"end","count":0}` + "\n",
		"unknown kind":   header + `{"kind":"lookupIndex","record":{}}` + "\n" + `{"kind":"end","count":1}` + "\n",
		"wrong count":    header + `{"kind":"account","record":{"ID":"1"}}` + "\n" + `{"kind":"end","count":2}` + "\n",
		"no end":         header + `{"kind":"account","record":{"ID":"1"}}` + "\n",
	} {
		if _, err := storage.ReadSnapshot(bytes.NewReader([]byte(file)), func(storage.Record) error { return nil }); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
	n, err := storage.ReadSnapshot(bytes.NewReader([]byte(header+`{"kind":"account","record":{"ID":"1"}}`+"\n"+`{"kind":"end","count":1}`+"\n")),
		func(r storage.Record) error {
			if r.Account == nil || r.Account.ID != "1" {
				t.Errorf("record %+v", r)
			}
			return nil
		})
	if err != nil || n != 1 {
		t.Errorf("a good file: %d records, %v", n, err)
	}
}
