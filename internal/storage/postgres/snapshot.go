package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/storage"
)

var (
	_ storage.Snapshotter = (*DB)(nil)
	_ storage.Leaser      = (*DB)(nil)
)

// Export emits every record from one REPEATABLE READ snapshot, so a backup
// can run while the cluster serves.
func (db *DB) Export(ctx context.Context, emit func(storage.Record) error) error {
	return db.View(ctx, func(stx storage.Tx) error {
		t := stx.(*tx)
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
			scan    func(pgx.Rows) (storage.Record, error)
		}{
			{"export access keys", "SELECT " + accessKeyCols + " FROM access_keys ORDER BY id", func(r pgx.Rows) (storage.Record, error) {
				k, err := scanAccessKey(r)
				return storage.Record{AccessKey: k}, err
			}},
			{"export entities", "SELECT " + entityCols + " FROM iam_entities ORDER BY account, kind, name_key", func(r pgx.Rows) (storage.Record, error) {
				e, err := scanEntity(r)
				return storage.Record{Entity: e}, err
			}},
			{"export keys", "SELECT account, region, key_id, material, created_ms FROM keys ORDER BY account, region, key_id", func(r pgx.Rows) (storage.Record, error) {
				var k storage.Key
				var created int64
				err := r.Scan(&k.Account, &k.Region, &k.KeyID, &k.Material, &created)
				k.Created = fromMillis(created)
				return storage.Record{Key: &k}, err
			}},
			{"export secrets", "SELECT " + secretCols + " FROM secrets ORDER BY arn", func(r pgx.Rows) (storage.Record, error) {
				s, err := scanSecret(r)
				return storage.Record{Secret: s}, err
			}},
			{"export versions", "SELECT " + versionCols + ", ciphertext IS NOT NULL, ciphertext FROM versions ORDER BY secret_arn, created_ms, seq", func(r pgx.Rows) (storage.Record, error) {
				v, err := scanVersion(r, true)
				return storage.Record{Version: v}, err
			}},
			{"export audit records", "SELECT " + auditCols + " FROM audit_records ORDER BY seq", func(r pgx.Rows) (storage.Record, error) {
				a, err := scanAuditRecord(r)
				return storage.Record{AuditRecord: a}, err
			}},
			{"export audit digests", "SELECT " + auditDigestCols + " FROM audit_digests ORDER BY seq", func(r pgx.Rows) (storage.Record, error) {
				d, err := scanAuditDigest(r)
				return storage.Record{AuditDigest: d}, err
			}},
		}
		for _, st := range steps {
			err := t.rows(st.op, st.sql, nil, func(r pgx.Rows) error {
				rec, err := st.scan(r)
				if err != nil {
					return err
				}
				return emit(rec)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// AcquireLease takes or renews a lease in the leases table, on the
// database's clock, in one statement.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var held bool
	err := db.Update(ctx, func(stx storage.Tx) error {
		t := stx.(*tx)
		var got string
		err := t.row("acquire lease "+name, `WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
			INSERT INTO leases AS l (name, holder, expires_ms, acquired_ms)
			SELECT $1, $2, now.ms + $3, now.ms FROM now
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms,
				acquired_ms = CASE WHEN l.holder = excluded.holder THEN l.acquired_ms ELSE excluded.acquired_ms END
			WHERE l.holder = excluded.holder OR l.expires_ms < excluded.acquired_ms
			RETURNING l.holder`, []any{name, holder, ttl.Milliseconds()}, &got)
		if err != nil && !isNotFound(err) {
			return err
		}
		held = err == nil && got == holder
		return nil
	})
	return held, err
}

// ReleaseLease ends holder's lease at once.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	return db.Update(ctx, func(stx storage.Tx) error {
		t := stx.(*tx)
		_, err := t.exec("release lease "+name, "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder)
		return err
	})
}
