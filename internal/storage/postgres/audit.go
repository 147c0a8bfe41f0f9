package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/storage"
)

// The audit trail and its digests (migration 0003). Appenders on every
// node are serialized by the one-row table audit_head: see the package doc.
// The mark of the audit journal is the one-row table audit_journal
// (migration 0004).

// auditCols is the column list of audit record reads, in scanAuditRecord's order.
const auditCols = "seq, time_ms, account, event_name, doc, prev_hash, hash"

// auditDigestCols is the column list of digest reads, in scanAuditDigest's order.
const auditDigestCols = "seq, hash, time_ms, key_id, signature"

func scanAuditRecord(r pgx.Row) (*storage.AuditRecord, error) {
	var a storage.AuditRecord
	var ms int64
	if err := r.Scan(&a.Seq, &ms, &a.Account, &a.EventName, &a.Doc, &a.PrevHash, &a.Hash); err != nil {
		return nil, err
	}
	a.Time = fromMillis(ms)
	return &a, nil
}

func scanAuditDigest(r pgx.Row) (*storage.AuditDigest, error) {
	var d storage.AuditDigest
	var ms int64
	if err := r.Scan(&d.Seq, &d.Hash, &ms, &d.KeyID, &d.Signature); err != nil {
		return nil, err
	}
	d.Time = fromMillis(ms)
	return &d, nil
}

// AuditHead reads the head row; in an Update it locks it (FOR UPDATE) until
// the transaction ends, so that appenders on every node take turns.
func (t *tx) AuditHead() (int64, []byte, error) {
	if err := t.usable(); err != nil {
		return 0, nil, err
	}
	var seq int64
	var hash []byte
	if err := t.row("audit head", "SELECT seq, hash FROM audit_head WHERE id = 1"+t.forUpdate(), nil, &seq, &hash); err != nil {
		return 0, nil, err
	}
	return seq, hash, nil
}

// AppendAudit advances the head and inserts the records in one statement,
// only when the first one is the head's successor: otherwise nothing
// changes and no error of the database is raised, so the transaction stays
// usable. The records go as arrays, one per column, unnested by the
// server: one round trip whatever their number.
func (t *tx) AppendAudit(rs ...*storage.AuditRecord) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	op := fmt.Sprintf("append audit record %d", rs[0].Seq)
	n := len(rs)
	if n > 1 {
		op = fmt.Sprintf("append audit records %d to %d", rs[0].Seq, rs[n-1].Seq)
	}
	seqs, times := make([]int64, n), make([]int64, n)
	accounts, names := make([]string, n), make([]string, n)
	docs, prevs, hashes := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	for i, r := range rs {
		if i > 0 && r.Seq != rs[i-1].Seq+1 {
			return fmt.Errorf("postgres: %s: record %d does not follow record %d: %w", op, r.Seq, rs[i-1].Seq, storage.ErrConflict)
		}
		seqs[i], times[i], accounts[i], names[i] = r.Seq, toMillis(r.Time), r.Account, r.EventName
		docs[i], prevs[i], hashes[i] = blob(r.Doc), blob(r.PrevHash), blob(r.Hash)
	}
	last := rs[n-1]
	tag, err := t.exec(op, `WITH head AS (
			UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 - 1 RETURNING seq)
		INSERT INTO audit_records (seq, time_ms, account, event_name, doc, prev_hash, hash)
		SELECT r.* FROM head, unnest($4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::bytea[], $9::bytea[], $10::bytea[])
			AS r(seq, time_ms, account, event_name, doc, prev_hash, hash)`,
		last.Seq, blob(last.Hash), rs[0].Seq, seqs, times, accounts, names, docs, prevs, hashes)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: not the successor of the head: %w", op, storage.ErrConflict)
	}
	return nil
}

func (t *tx) AuditRecords(after int64, limit int) ([]*storage.AuditRecord, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	var lim *int64 // NULL: no limit
	if limit > 0 {
		lim = new(int64(limit))
	}
	return records(t, fmt.Sprintf("audit records after %d", after),
		"SELECT "+auditCols+" FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2",
		[]any{after, lim}, scanAuditRecord)
}

func (t *tx) InsertAuditDigest(d *storage.AuditDigest) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.inserted(fmt.Sprintf("insert audit digest %d", d.Seq), "INSERT INTO audit_digests ("+auditDigestCols+`)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		d.Seq, blob(d.Hash), toMillis(d.Time), d.KeyID, blob(d.Signature))
}

func (t *tx) AuditDigests() ([]*storage.AuditDigest, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	return records(t, "audit digests", "SELECT "+auditDigestCols+" FROM audit_digests ORDER BY seq", nil, scanAuditDigest)
}

// AuditJournalMark reads the mark; in an Update it locks the row (FOR
// UPDATE) until the transaction ends, as AuditHead does the head, so that
// a writer of the mark on another node waits and then re-runs on the new
// mark.
func (t *tx) AuditJournalMark() (int64, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	var mark int64
	if err := t.row("audit journal mark", "SELECT mark FROM audit_journal WHERE id = 1"+t.forUpdate(), nil, &mark); err != nil {
		return 0, err
	}
	return mark, nil
}

// SetAuditJournalMark updates the mark only when it does not go back:
// otherwise nothing changes and no error of the database is raised, so the
// transaction stays usable.
func (t *tx) SetAuditJournalMark(mark int64) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	op := fmt.Sprintf("set audit journal mark %d", mark)
	if mark < 0 {
		return fmt.Errorf("postgres: %s: negative mark", op)
	}
	tag, err := t.exec(op, "UPDATE audit_journal SET mark = $1 WHERE id = 1 AND mark <= $1", mark)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: below the stored mark: %w", op, storage.ErrConflict)
	}
	return nil
}
