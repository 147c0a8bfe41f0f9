package sqlite

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/storagetest"
)

// TestSnapshotRoundTrip exports a store holding an audit trail with its
// digests next to the other records and restores it into an empty one:
// every record reads back the same, and the trail goes on from its head.
func TestSnapshotRoundTrip(t *testing.T) {
	open := func() *DB {
		db, err := Open(t.Context(), filepath.Join(t.TempDir(), "coffer.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	src, dst := open(), open()
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var block []*storage.AuditRecord
	for seq := int64(3); seq <= 22; seq++ {
		block = append(block, &storage.AuditRecord{Seq: seq, Time: base.Add(time.Duration(seq) * time.Millisecond), Account: "123456789012",
			EventName: "GetSecretValue", Doc: []byte(fmt.Sprintf(`{"n":%d}`, seq)), PrevHash: []byte{byte(seq - 1)}, Hash: []byte{byte(seq)}})
	}
	err := src.Update(t.Context(), func(tx storage.Tx) error {
		for _, err := range []error{
			tx.InsertAccount(&storage.Account{ID: "123456789012", Created: base}),
			tx.InsertKey(&storage.Key{Account: "123456789012", Region: "us-east-1", KeyID: "k", Material: []byte{9}, Created: base}),
			tx.AppendAudit(&storage.AuditRecord{Seq: 1, Time: base, Account: "123456789012", EventName: "CreateSecret", Doc: []byte(`{"n":1}`), Hash: []byte{1}}),
			tx.AppendAudit(&storage.AuditRecord{Seq: 2, Time: base.Add(time.Millisecond), Account: "123456789012", EventName: "GetSecretValue", Doc: []byte(`{"n":2}`), PrevHash: []byte{1}, Hash: []byte{2}}),
			tx.AppendAudit(block...), // records 3 to 22, kept as a block
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
	if len(want) != 25 || want[2].AuditRecord == nil || want[23].AuditRecord == nil || want[23].AuditRecord.Seq != 22 || want[24].AuditDigest == nil {
		t.Fatalf("exported %+v, want an account, a key, 22 audit records and a digest", want)
	}
	n, err := storage.Restore(t.Context(), dst, bytes.NewReader(file), 2, nil)
	if err != nil || n != 25 {
		t.Fatalf("Restore: %d records, %v", n, err)
	}
	if got, _ := storagetest.ExportSnapshot(t, dst, base); !reflect.DeepEqual(got, want) {
		t.Errorf("restored records differ:\n got %+v\nwant %+v", got, want)
	}
	storagetest.CheckAuditContinues(t, dst, 22, []byte{22})
}
