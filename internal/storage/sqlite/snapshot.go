package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/coffer-dev/coffer/internal/storage"
)

var _ storage.Snapshotter = (*DB)(nil)

// Export emits every record from one read transaction (one WAL snapshot),
// straight from SQL: the read cache is not involved. Only the process that
// opened the database can export it (the file lock).
func (db *DB) Export(ctx context.Context, emit func(storage.Record) error) error {
	return db.View(ctx, func(stx storage.Tx) error {
		t := stx.(*tx)
		if err := t.check(); err != nil { // begins the SQL transaction
			return err
		}
		as, err := t.Accounts()
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := emit(storage.Record{Account: a}); err != nil {
				return err
			}
		}
		steps := []struct {
			op, sql string
			scan    func(*sql.Rows) (storage.Record, error)
		}{
			{"export access keys", "SELECT id, account, principal, secret_ciphertext, active, created_ms FROM access_keys ORDER BY id",
				func(r *sql.Rows) (storage.Record, error) {
					k, err := scanAccessKey(r)
					return storage.Record{AccessKey: k}, err
				}},
			{"export entities", "SELECT account, kind, name, id, path, created_ms, doc FROM iam_entities ORDER BY account, kind, name_key",
				func(r *sql.Rows) (storage.Record, error) {
					e, err := scanEntity(r)
					return storage.Record{Entity: e}, err
				}},
			{"export keys", "SELECT account, region, key_id, material, created_ms FROM keys ORDER BY account, region, key_id",
				func(r *sql.Rows) (storage.Record, error) {
					var k storage.Key
					var created int64
					err := r.Scan(&k.Account, &k.Region, &k.KeyID, &k.Material, &created)
					k.Created = fromMillis(created)
					return storage.Record{Key: &k}, err
				}},
			{"export secrets", "SELECT " + secretCols + " FROM secrets ORDER BY arn",
				func(r *sql.Rows) (storage.Record, error) {
					s, err := scanSecret(r)
					return storage.Record{Secret: s}, err
				}},
			{"export versions", "SELECT " + versionCols + ", ciphertext IS NOT NULL, ciphertext FROM versions ORDER BY secret_arn, created_ms, seq",
				func(r *sql.Rows) (storage.Record, error) {
					v, err := scanVersion(r, true)
					return storage.Record{Version: v}, err
				}},
		}
		for _, st := range steps {
			if err := exportRows(ctx, t, st.op, st.sql, st.scan, emit); err != nil {
				return err
			}
		}
		// The trail: rows and blocks alike, a page at a time.
		for after := int64(0); ; {
			page, err := t.AuditRecords(after, exportAuditPage)
			if err != nil {
				return err
			}
			for _, a := range page {
				if err := emit(storage.Record{AuditRecord: a}); err != nil {
					return err
				}
			}
			if len(page) < exportAuditPage {
				break
			}
			after = page[len(page)-1].Seq
		}
		return exportRows(ctx, t, "export audit digests", "SELECT "+auditDigestCols+" FROM audit_digests ORDER BY seq",
			func(r *sql.Rows) (storage.Record, error) {
				d, err := scanAuditDigest(r)
				return storage.Record{AuditDigest: d}, err
			}, emit)
	})
}

// exportAuditPage is how many audit records Export reads at a time.
const exportAuditPage = 4096

func exportRows(ctx context.Context, t *tx, op, query string, scan func(*sql.Rows) (storage.Record, error), emit func(storage.Record) error) error {
	rows, err := t.c.sc.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer rows.Close()
	for rows.Next() {
		rec, err := scan(rows)
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return nil
}
