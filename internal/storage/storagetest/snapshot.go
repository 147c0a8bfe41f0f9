package storagetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Helpers for a backend's tests of storage.Snapshotter.

// ExportSnapshot exports s into a snapshot file stamped now. It returns the
// records emitted, with Version.Seq zeroed (a restore assigns it anew), and
// the file.
func ExportSnapshot(t *testing.T, s storage.Snapshotter, now time.Time) ([]storage.Record, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w, err := storage.NewSnapshotWriter(&buf, now)
	if err != nil {
		t.Fatal(err)
	}
	var recs []storage.Record
	if err := s.Export(t.Context(), func(r storage.Record) error {
		if r.Version != nil {
			r.Version.Seq = 0
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

// CheckAuditContinues checks that the audit trail of s (a restored store)
// has its head at (seq, hash) and takes the next record.
func CheckAuditContinues(t *testing.T, s storage.Store, seq int64, hash []byte) {
	t.Helper()
	err := s.Update(t.Context(), func(tx storage.Tx) error {
		gotSeq, gotHash, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if gotSeq != seq || !bytes.Equal(gotHash, hash) {
			t.Errorf("restored AuditHead: %d %x, want %d %x", gotSeq, gotHash, seq, hash)
		}
		return tx.AppendAudit(&storage.AuditRecord{Seq: gotSeq + 1, Time: base, Account: acct, EventName: "x", Doc: []byte("{}"), PrevHash: gotHash, Hash: []byte{byte(gotSeq + 1)}})
	})
	if err != nil {
		t.Errorf("append after restore: %v", err)
	}
}
