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

// auditCols are the columns of audit_records.
const auditCols = "seq, time_ms, account, event_name, doc, prev_hash, hash"

// auditDigestCols is the column list of digest reads, in scanAuditDigest's order.
const auditDigestCols = "seq, hash, time_ms, key_id, signature"

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

// AppendAudit inserts rs after the head: as blocks (auditblock.go) when
// there are at least blockMin of them, else as rows. The head is read
// once per closure (AuditHead), and every Seq is checked against it here.
func (t *tx) AppendAudit(rs ...*storage.AuditRecord) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	if !t.auditKnown {
		if _, _, err := t.AuditHead(); err != nil {
			return err
		}
	}
	for i, r := range rs {
		if r.Seq != t.auditSeq+1+int64(i) {
			return fmt.Errorf("sqlite: append audit record %d: not the successor of record %d: %w", r.Seq, t.auditSeq+int64(i), storage.ErrConflict)
		}
	}
	if len(rs) >= blockMin {
		return t.appendBlocks(rs)
	}
	for i, r := range rs {
		if _, err := t.c.exec(stAppendAudit, r.Seq, toMillis(r.Time), r.Account, r.EventName,
			blob(r.Doc), blob(r.PrevHash), blob(r.Hash)); err != nil {
			err = t.fail(fmt.Sprintf("append audit record %d", r.Seq), err, "")
			if i > 0 && t.fatal == nil {
				t.fatal = err // part of rs is in: the closure must not go on
			}
			return err
		}
		t.auditSeq = r.Seq
	}
	return nil
}

// appendBlocks inserts rs (already checked) as blocks of at most blockMax
// records and about blockBytes of fields each.
func (t *tx) appendBlocks(rs []*storage.AuditRecord) error {
	for start := 0; start < len(rs); {
		end, size := start, 0
		for end < len(rs) && end-start < blockMax && size < blockBytes {
			r := rs[end]
			size += len(r.Account) + len(r.EventName) + len(r.Doc) + len(r.PrevHash) + len(r.Hash)
			end++
		}
		first, last := rs[start], rs[end-1]
		op := fmt.Sprintf("append audit records %d to %d", first.Seq, last.Seq)
		// The statement copies the block: the buffer is the next one's.
		t.c.block = encodeBlock(t.c.block[:0], rs[start:end])
		if _, err := t.c.exec(stAppendAuditBlock, first.Seq, last.Seq, blob(last.Hash), t.c.block); err != nil {
			err = t.fail(op, err, "")
			if start > 0 && t.fatal == nil {
				t.fatal = err // part of rs is in: the closure must not go on
			}
			return err
		}
		t.auditSeq = last.Seq
		start = end
	}
	if cap(t.c.block) > 4*blockBytes {
		t.c.block = nil // do not keep a huge buffer after huge records
	}
	return nil
}

// AuditRecords reads rows and blocks in one statement, in Seq order (a
// block sorts by its first record), and unpacks the blocks. limit rows
// are enough: every row holds at least one record.
func (t *tx) AuditRecords(after int64, limit int) ([]*storage.AuditRecord, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	sqlLimit := limit
	if limit <= 0 {
		sqlLimit = -1 // SQLite: no limit
	}
	op := fmt.Sprintf("audit records after %d", after)
	rows, err := t.c.query(stAuditRecords, after, sqlLimit)
	if err != nil {
		return nil, t.fail(op, err, "")
	}
	defer rows.Close()
	var out []*storage.AuditRecord
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		var a storage.AuditRecord
		var last, ms int64
		if err := rows.Scan(&a.Seq, &last, &ms, &a.Account, &a.EventName, &a.Doc, &a.PrevHash, &a.Hash); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if last == 0 { // a row
			a.Time = fromMillis(ms)
			out = append(out, &a)
			continue
		}
		rs, err := decodeBlock(a.Seq, last, a.Doc)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		for _, r := range rs {
			if r.Seq > after && (limit <= 0 || len(out) < limit) {
				out = append(out, r)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err, "")
	}
	return out, nil
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
