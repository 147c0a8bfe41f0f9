package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/storage"
)

// The audit trail and its digests (migration 0005), and the mark of the
// audit journal (migration 0006). Appenders need no lock of their own:
// every write transaction runs on the single writer connection, so a
// closure that reads the head and appends its successor never races
// another. Neither the trail nor the mark is in the read cache: every read
// goes to SQL.

// auditCols is the column list of audit record reads, in scanAuditRecord's order.
const auditCols = "seq, time_ms, account, event_name, doc, prev_hash, hash"

// auditDigestCols is the column list of digest reads, in scanAuditDigest's order.
const auditDigestCols = "seq, hash, time_ms, key_id, signature"

func scanAuditRecord(r *sql.Rows) (*storage.AuditRecord, error) {
	var a storage.AuditRecord
	var ms int64
	if err := r.Scan(&a.Seq, &ms, &a.Account, &a.EventName, &a.Doc, &a.PrevHash, &a.Hash); err != nil {
		return nil, err
	}
	a.Time = fromMillis(ms)
	return &a, nil
}

func scanAuditDigest(r *sql.Rows) (*storage.AuditDigest, error) {
	var d storage.AuditDigest
	var ms int64
	if err := r.Scan(&d.Seq, &d.Hash, &ms, &d.KeyID, &d.Signature); err != nil {
		return nil, err
	}
	d.Time = fromMillis(ms)
	return &d, nil
}

func (t *tx) AuditHead() (int64, []byte, error) {
	if err := t.check(); err != nil {
		return 0, nil, err
	}
	var seq int64
	var hash []byte
	err := t.one("audit head", "", func(r *sql.Rows) error { return r.Scan(&seq, &hash) }, stAuditHead)
	if errors.Is(err, storage.ErrNotFound) {
		if t.write {
			t.auditSeq, t.auditKnown = 0, true
		}
		return 0, nil, nil // an empty trail
	}
	if err != nil {
		return 0, nil, err
	}
	if t.write {
		t.auditSeq, t.auditKnown = seq, true
	}
	return seq, hash, nil
}

func (t *tx) AppendAudit(r *storage.AuditRecord) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	op := "append audit record"
	st := stAppendAudit
	if t.auditKnown {
		// The head is known: refuse a non-successor here and insert the
		// successor plainly.
		if r.Seq != t.auditSeq+1 {
			return fmt.Errorf("sqlite: %s %d: not the successor of the head: %w", op, r.Seq, storage.ErrConflict)
		}
		st = stAppendAuditNext
	}
	res, err := t.c.exec(st, r.Seq, toMillis(r.Time), r.Account, r.EventName,
		blob(r.Doc), blob(r.PrevHash), blob(r.Hash))
	if err != nil {
		return t.fail(fmt.Sprintf("%s %d", op, r.Seq), err, "")
	}
	if st == stAppendAudit {
		n, err := res.RowsAffected()
		if err != nil {
			return t.fail(fmt.Sprintf("%s %d", op, r.Seq), err, "")
		}
		if n == 0 {
			return fmt.Errorf("sqlite: %s %d: not the successor of the head: %w", op, r.Seq, storage.ErrConflict)
		}
	}
	t.auditSeq, t.auditKnown = r.Seq, true
	return nil
}

func (t *tx) AuditRecords(after int64, limit int) ([]*storage.AuditRecord, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	return records(t, fmt.Sprintf("audit records after %d", after), scanAuditRecord, stAuditRecords, after, limit)
}

func (t *tx) InsertAuditDigest(d *storage.AuditDigest) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	_, err := t.c.exec(stInsertAuditDigest, d.Seq, blob(d.Hash), toMillis(d.Time), d.KeyID, blob(d.Signature))
	if err != nil {
		return t.fail(fmt.Sprintf("insert audit digest %d", d.Seq), err, "")
	}
	return nil
}

func (t *tx) AuditDigests() ([]*storage.AuditDigest, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return records(t, "audit digests", scanAuditDigest, stAuditDigests)
}

func (t *tx) AuditJournalMark() (int64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	var mark int64
	if err := t.one("audit journal mark", "", func(r *sql.Rows) error { return r.Scan(&mark) }, stAuditJournalMark); err != nil {
		return 0, err
	}
	return mark, nil
}

func (t *tx) SetAuditJournalMark(mark int64) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	op := fmt.Sprintf("set audit journal mark %d", mark)
	if mark < 0 {
		return fmt.Errorf("sqlite: %s: negative mark", op)
	}
	n, err := t.affected(op, stSetAuditJournalMark, mark)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: below the stored mark: %w", op, storage.ErrConflict)
	}
	return nil
}
