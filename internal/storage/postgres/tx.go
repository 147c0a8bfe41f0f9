package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coffer-dev/coffer/internal/storage"
)

// tx implements storage.Tx over one connection inside one transaction.
type tx struct {
	c     *pgx.Conn
	ctx   context.Context
	write bool
	done  bool
	// fatal is the first error of the database: PostgreSQL has aborted the
	// transaction, so every later call fails with it.
	fatal error
	// retry is set instead of fatal for a serialization failure or a
	// deadlock: Update runs the closure again, whatever it returns.
	retry error
	// begin is the transaction's BEGIN statement. It is sent with the
	// closure's first statement, in the same round trip; a closure that
	// runs no statement costs no round trip at all.
	begin string
	begun bool
}

// send sends the statements of b, after BEGIN when the transaction has not
// begun yet (whose result it consumes).
func (t *tx) send(b *pgx.Batch) (pgx.BatchResults, error) {
	if t.begun {
		return t.c.SendBatch(t.ctx, b), nil
	}
	nb := &pgx.Batch{}
	nb.Queue(t.begin)
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	br := t.c.SendBatch(t.ctx, nb)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	t.begun = true
	return br, nil
}

// one is a batch of one statement.
func one(sql string, args []any) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return b
}

var _ storage.Tx = (*tx)(nil)

func (t *tx) usable() error {
	switch {
	case t.done:
		return errTxDone
	case t.retry != nil:
		return t.retry
	case t.fatal != nil:
		return t.fatal
	}
	return t.ctx.Err()
}

func (t *tx) checkWrite() error {
	if err := t.usable(); err != nil {
		return err
	}
	if !t.write {
		return ErrReadOnly
	}
	return nil
}

// fail records an error of the database, which has aborted the transaction.
func (t *tx) fail(op string, err error) error {
	err = fmt.Errorf("postgres: %s: %w", op, err)
	if isRetryable(err) {
		if t.retry == nil {
			t.retry = err
		}
	} else if t.fatal == nil {
		t.fatal = err
	}
	return err
}

func notFound(op string) error { return fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound) }
func conflict(op string) error { return fmt.Errorf("postgres: %s: %w", op, storage.ErrConflict) }

func (t *tx) exec(op, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	var err error
	if t.begun {
		tag, err = t.c.Exec(t.ctx, sql, args...)
	} else {
		var br pgx.BatchResults
		if br, err = t.send(one(sql, args)); err == nil {
			tag, err = br.Exec()
			if cerr := br.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		return tag, t.fail(op, err)
	}
	return tag, nil
}

// changed is exec for an UPDATE or DELETE of one row: none is ErrNotFound.
func (t *tx) changed(op, sql string, args ...any) error {
	tag, err := t.exec(op, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}

// inserted is exec for an INSERT ... ON CONFLICT DO NOTHING of one row:
// none is ErrConflict.
func (t *tx) inserted(op, sql string, args ...any) error {
	tag, err := t.exec(op, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return conflict(op)
	}
	return nil
}

// row runs a query of at most one row and scans it into dest; no row is
// ErrNotFound.
func (t *tx) row(op, sql string, args []any, dest ...any) error {
	var err error
	if t.begun {
		err = t.c.QueryRow(t.ctx, sql, args...).Scan(dest...)
	} else {
		var br pgx.BatchResults
		if br, err = t.send(one(sql, args)); err == nil {
			err = br.QueryRow().Scan(dest...)
			if cerr := br.Close(); err == nil || errors.Is(err, pgx.ErrNoRows) && cerr != nil {
				err = cerr
			}
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(op)
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

// rows runs a query and calls scan for each row.
func (t *tx) rows(op, sql string, args []any, scan func(pgx.Rows) error) error {
	var rs pgx.Rows
	var err error
	if t.begun {
		rs, err = t.c.Query(t.ctx, sql, args...)
	} else {
		var br pgx.BatchResults
		if br, err = t.send(one(sql, args)); err == nil {
			rs, err = br.Query()
			defer func() {
				if cerr := br.Close(); cerr != nil && t.retry == nil && t.fatal == nil {
					t.fail(op, cerr)
				}
			}()
		}
	}
	if err != nil {
		return t.fail(op, err)
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			rs.Close()
			if rs.Err() != nil {
				return t.fail(op, rs.Err())
			}
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
	}
	if err := rs.Err(); err != nil {
		return t.fail(op, err)
	}
	return nil
}

// record runs a query of at most one row and returns it as scan reads it;
// no row is ErrNotFound. (It goes through rows, so that an error of scan is
// not taken for one of the database.)
func record[T any](t *tx, op, sql string, args []any, scan func(pgx.Row) (*T, error)) (*T, error) {
	var rec *T
	err := t.rows(op, sql, args, func(r pgx.Rows) (err error) {
		rec, err = scan(r)
		return err
	})
	if err == nil && rec == nil {
		err = notFound(op)
	}
	return rec, err
}

// records runs a query and returns its rows as scan reads them.
func records[T any](t *tx, op, sql string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	var out []T
	err := t.rows(op, sql, args, func(r pgx.Rows) error {
		v, err := scan(r)
		if err == nil {
			out = append(out, v)
		}
		return err
	})
	return out, err
}

// toMillis encodes t as unix milliseconds in UTC, rounding down; the zero
// time is 0 (as in SQLite).
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// blob maps an empty byte slice to NULL.
func blob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Accounts and access keys.

func (t *tx) InsertAccount(a *storage.Account) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.inserted("insert account "+a.ID, "INSERT INTO accounts (id, created_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
		a.ID, toMillis(a.Created))
}

func (t *tx) Account(id string) (*storage.Account, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	var a storage.Account
	var created int64
	if err := t.row("account "+id, "SELECT id, created_ms FROM accounts WHERE id = $1", []any{id}, &a.ID, &created); err != nil {
		return nil, err
	}
	a.Created = fromMillis(created)
	return &a, nil
}

func (t *tx) Accounts() ([]*storage.Account, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	var out []*storage.Account
	err := t.rows("accounts", "SELECT id, created_ms FROM accounts ORDER BY id", nil, func(r pgx.Rows) error {
		var a storage.Account
		var created int64
		if err := r.Scan(&a.ID, &created); err != nil {
			return err
		}
		a.Created = fromMillis(created)
		out = append(out, &a)
		return nil
	})
	return out, err
}

const accessKeyCols = "id, account, principal, secret_ciphertext, active, created_ms"

func scanAccessKey(r pgx.Row) (*storage.AccessKey, error) {
	var k storage.AccessKey
	var created int64
	if err := r.Scan(&k.ID, &k.Account, &k.Principal, &k.SecretCiphertext, &k.Active, &created); err != nil {
		return nil, err
	}
	k.Created = fromMillis(created)
	return &k, nil
}

func (t *tx) InsertAccessKey(k *storage.AccessKey) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.inserted("insert access key "+k.ID, "INSERT INTO access_keys ("+accessKeyCols+") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
		k.ID, k.Account, k.Principal, blob(k.SecretCiphertext), k.Active, toMillis(k.Created))
}

func (t *tx) AccessKey(id string) (*storage.AccessKey, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	return record(t, "access key "+id, "SELECT "+accessKeyCols+" FROM access_keys WHERE id = $1"+t.forUpdate(), []any{id}, scanAccessKey)
}

func (t *tx) UpdateAccessKey(k *storage.AccessKey) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed("update access key "+k.ID, `UPDATE access_keys SET account = $2, principal = $3,
		secret_ciphertext = $4, active = $5, created_ms = $6 WHERE id = $1`,
		k.ID, k.Account, k.Principal, blob(k.SecretCiphertext), k.Active, toMillis(k.Created))
}

func (t *tx) DeleteAccessKey(id string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed("delete access key "+id, "DELETE FROM access_keys WHERE id = $1", id)
}

func (t *tx) AccessKeys(account, principal string) ([]*storage.AccessKey, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	return records(t, "access keys of "+principal, "SELECT "+accessKeyCols+
		" FROM access_keys WHERE account = $1 AND principal = $2 ORDER BY created_ms, id",
		[]any{account, principal}, scanAccessKey)
}

// IAM entities.

// entityKey: names compare case-insensitively; lower-casing is done in Go,
// as the SQLite backend does, so that both key a name alike.
func entityKey(name string) string { return strings.ToLower(name) }

func entityDoc(doc []byte) []byte {
	if len(doc) == 0 {
		return []byte("{}")
	}
	return doc
}

func entityOp(verb, account string, kind storage.EntityKind, name string) string {
	return fmt.Sprintf("%s %s %s/%s", verb, kind, account, name)
}

const entityCols = "account, kind, name, id, path, created_ms, doc"

func scanEntity(r pgx.Row) (*storage.Entity, error) {
	var e storage.Entity
	var kind string
	var created int64
	if err := r.Scan(&e.Account, &kind, &e.Name, &e.ID, &e.Path, &created, &e.Doc); err != nil {
		return nil, err
	}
	e.Kind = storage.EntityKind(kind)
	e.Created = fromMillis(created)
	if len(e.Doc) == 0 {
		e.Doc = []byte("{}")
	}
	return &e, nil
}

func (t *tx) InsertEntity(e *storage.Entity) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.inserted(entityOp("insert", e.Account, e.Kind, e.Name), `INSERT INTO iam_entities (account, kind, name_key, name, id, path, created_ms, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		e.Account, string(e.Kind), entityKey(e.Name), e.Name, e.ID, e.Path, toMillis(e.Created), entityDoc(e.Doc))
}

func (t *tx) Entity(account string, kind storage.EntityKind, name string) (*storage.Entity, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	return record(t, entityOp("read", account, kind, name),
		"SELECT "+entityCols+" FROM iam_entities WHERE account = $1 AND kind = $2 AND name_key = $3"+t.forUpdate(),
		[]any{account, string(kind), entityKey(name)}, scanEntity)
}

func (t *tx) UpdateEntity(e *storage.Entity) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed(entityOp("update", e.Account, e.Kind, e.Name),
		`UPDATE iam_entities SET name = $4, id = $5, path = $6, created_ms = $7, doc = $8
		WHERE account = $1 AND kind = $2 AND name_key = $3`,
		e.Account, string(e.Kind), entityKey(e.Name), e.Name, e.ID, e.Path, toMillis(e.Created), entityDoc(e.Doc))
}

func (t *tx) DeleteEntity(account string, kind storage.EntityKind, name string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed(entityOp("delete", account, kind, name),
		"DELETE FROM iam_entities WHERE account = $1 AND kind = $2 AND name_key = $3",
		account, string(kind), entityKey(name))
}

func (t *tx) Entities(account string, kind storage.EntityKind) ([]*storage.Entity, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	return records(t, fmt.Sprintf("%ss of %s", kind, account), "SELECT "+entityCols+
		" FROM iam_entities WHERE account = $1 AND kind = $2 ORDER BY name_key, name",
		[]any{account, string(kind)}, scanEntity)
}

// Keys.

func (t *tx) InsertKey(k *storage.Key) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.inserted(fmt.Sprintf("insert key %s/%s/%s", k.Account, k.Region, k.KeyID), `INSERT INTO keys (account, region, key_id, material, created_ms)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		k.Account, k.Region, k.KeyID, blob(k.Material), toMillis(k.Created))
}

func (t *tx) Key(account, region, keyID string) (*storage.Key, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	var k storage.Key
	var created int64
	err := t.row(fmt.Sprintf("key %s/%s/%s", account, region, keyID),
		"SELECT account, region, key_id, material, created_ms FROM keys WHERE account = $1 AND region = $2 AND key_id = $3",
		[]any{account, region, keyID}, &k.Account, &k.Region, &k.KeyID, &k.Material, &created)
	if err != nil {
		return nil, err
	}
	k.Created = fromMillis(created)
	return &k, nil
}

// Secrets.

// secretCols is the column list every secret query reads, in scanSecret's order.
const secretCols = `arn, account, region, name, description, kms_key_id, type,
	tags, tags_set, stages, created_ms, last_changed_ms, last_accessed_ms, deletion_ms, attrs`

// secretArgs returns the values of secretCols for s, then its search digest.
func secretArgs(s *storage.Secret) ([]any, error) {
	var tags, stages *string
	if len(s.Tags) > 0 {
		b, err := json.Marshal(s.Tags)
		if err != nil {
			return nil, fmt.Errorf("encode tags: %w", err)
		}
		tags = new(string(b))
	}
	if len(s.Stages) > 0 {
		b, err := json.Marshal(s.Stages)
		if err != nil {
			return nil, fmt.Errorf("encode stages: %w", err)
		}
		stages = new(string(b))
	}
	digest, err := storage.IndexDigest(s)
	if err != nil {
		return nil, err
	}
	return []any{
		s.ARN, s.Account, s.Region, s.Name, s.Description, s.KmsKeyID, s.Type,
		tags, s.TagsSet, stages,
		toMillis(s.Created), toMillis(s.LastChanged), toMillis(s.LastAccessed), toMillis(s.DeletionDate),
		blob(s.Attrs), digest,
	}, nil
}

func scanSecret(r pgx.Row) (*storage.Secret, error) {
	var s storage.Secret
	var tags, stages *string
	var created, changed, accessed, deletion int64
	if err := r.Scan(&s.ARN, &s.Account, &s.Region, &s.Name, &s.Description, &s.KmsKeyID, &s.Type,
		&tags, &s.TagsSet, &stages, &created, &changed, &accessed, &deletion, &s.Attrs); err != nil {
		return nil, err
	}
	if tags != nil {
		if err := json.Unmarshal([]byte(*tags), &s.Tags); err != nil {
			return nil, fmt.Errorf("secret %s: decode tags: %w", s.ARN, err)
		}
		if len(s.Tags) == 0 {
			s.Tags = nil
		}
	}
	s.Stages = map[string][]string{}
	if stages != nil {
		if err := json.Unmarshal([]byte(*stages), &s.Stages); err != nil {
			return nil, fmt.Errorf("secret %s: decode stages: %w", s.ARN, err)
		}
	}
	s.Created = fromMillis(created)
	s.LastChanged = fromMillis(changed)
	s.LastAccessed = fromMillis(accessed)
	s.DeletionDate = fromMillis(deletion)
	if len(s.Attrs) == 0 {
		s.Attrs = nil
	}
	return &s, nil
}

func (t *tx) InsertSecret(s *storage.Secret) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	op := "insert secret " + s.ARN
	args, err := secretArgs(s)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	// A taken ARN or name inserts nothing: ErrConflict without an error
	// of the database, so the transaction stays usable.
	var id int64
	err = t.row(op, "INSERT INTO secrets ("+secretCols+`, search_digest)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT DO NOTHING RETURNING search_id`, args, &id)
	if errors.Is(err, storage.ErrNotFound) {
		return conflict(op)
	}
	if err != nil {
		return err
	}
	return t.indexRows(op, id, s, false)
}

func (t *tx) UpdateSecret(s *storage.Secret) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	op := "update secret " + s.ARN
	args, err := secretArgs(s)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	// The name check in the statement keeps a taken name from raising a
	// unique violation (which would abort the transaction).
	var id int64
	var reindex bool
	err = t.row(op, `WITH old AS (SELECT arn, search_digest FROM secrets WHERE arn = $1)
		UPDATE secrets AS s SET account = $2, region = $3, name = $4, description = $5,
		kms_key_id = $6, type = $7, tags = $8, tags_set = $9, stages = $10, created_ms = $11,
		last_changed_ms = $12, last_accessed_ms = $13, deletion_ms = $14, attrs = $15, search_digest = $16
		FROM old WHERE s.arn = old.arn AND NOT EXISTS (SELECT 1 FROM secrets AS o
			WHERE o.account = $2 AND o.region = $3 AND o.name = $4 AND o.arn <> $1)
		RETURNING s.search_id, old.search_digest IS DISTINCT FROM $16`, args, &id, &reindex)
	if errors.Is(err, storage.ErrNotFound) {
		// The secret is missing, or the name is another secret's.
		return t.conflictOrMissing(op, s.ARN, notFound(op))
	}
	if err != nil || !reindex {
		return err
	}
	return t.indexRows(op, id, s, true)
}

// conflictOrMissing is the error of a write of op that changed no row of
// the secret arn or its versions: ErrConflict when the secret exists,
// missing when it does not.
func (t *tx) conflictOrMissing(op, arn string, missing error) error {
	var exists bool
	if err := t.row(op, "SELECT EXISTS (SELECT 1 FROM secrets WHERE arn = $1)", []any{arn}, &exists); err != nil {
		return err
	}
	if exists {
		return conflict(op)
	}
	return missing
}

// indexRows writes the filter index rows of s under id (replacing the old
// ones with clear), in one round trip.
func (t *tx) indexRows(op string, id int64, s *storage.Secret, clear bool) error {
	b := &pgx.Batch{}
	if clear {
		b.Queue("DELETE FROM secret_words WHERE id = $1", id)
		b.Queue("DELETE FROM secret_tags WHERE id = $1", id)
	}
	if words := storage.IndexWords(s); len(words) > 0 {
		ws := make([]string, len(words))
		srcs := make([]int32, len(words))
		for i, w := range words {
			ws[i], srcs[i] = w.Word, int32(w.Sources)
		}
		b.Queue(`INSERT INTO secret_words (id, word, sources)
			SELECT $1, w, s FROM unnest($2::text[], $3::int[]) AS u(w, s)`, id, ws, srcs)
	}
	if len(s.Tags) > 0 {
		keys := make([]string, len(s.Tags))
		values := make([]string, len(s.Tags))
		for i, tg := range s.Tags {
			keys[i], values[i] = tg.Key, tg.Value
		}
		b.Queue(`INSERT INTO secret_tags (id, position, key, value)
			SELECT $1, n - 1, k, v FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(k, v, n)`, id, keys, values)
	}
	if b.Len() == 0 {
		return nil
	}
	br, err := t.send(b)
	if err == nil {
		err = br.Close()
	}
	if err != nil {
		return t.fail("index of "+op, err)
	}
	return nil
}

func (t *tx) DeleteSecret(arn string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	// Versions and index rows go by ON DELETE CASCADE.
	return t.changed("delete secret "+arn, "DELETE FROM secrets WHERE arn = $1", arn)
}

func (t *tx) ExpiredSecrets(before time.Time, limit int) ([]string, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	var out []string
	err := t.rows("expired secrets", `SELECT arn FROM secrets WHERE deletion_ms > 0 AND deletion_ms <= $1
		ORDER BY deletion_ms, arn LIMIT $2`, []any{toMillis(before), limit}, func(r pgx.Rows) error {
		var arn string
		if err := r.Scan(&arn); err != nil {
			return err
		}
		out = append(out, arn)
		return nil
	})
	return out, err
}

// forUpdate is the locking clause of a read of a record that an Update
// may rewrite: see the package doc.
func (t *tx) forUpdate() string {
	if t.write {
		return " FOR UPDATE"
	}
	return ""
}

func (t *tx) secret(op, where string, args ...any) (*storage.Secret, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	return record(t, op, "SELECT "+secretCols+" FROM secrets WHERE "+where+t.forUpdate(), args, scanSecret)
}

func (t *tx) SecretByName(account, region, name string) (*storage.Secret, error) {
	return t.secret(fmt.Sprintf("secret %s/%s/%s", account, region, name),
		"account = $1 AND region = $2 AND name = $3", account, region, name)
}

func (t *tx) SecretByARN(arn string) (*storage.Secret, error) {
	return t.secret("secret "+arn, "arn = $1", arn)
}

// ListSecrets is in list.go.

// Versions.

const versionCols = `secret_arn, version_id, seq, created_ms, last_accessed_ms, kms_key_id, is_binary`

func (t *tx) InsertVersion(v *storage.Version) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	op := fmt.Sprintf("insert version %s of %s", v.VersionID, v.SecretARN)
	// Neither a missing secret nor a taken id raises an error: the row is
	// simply not inserted, and a second query tells which it was.
	var seq int64
	err := t.row(op, `INSERT INTO versions (secret_arn, version_id, seq, created_ms, last_accessed_ms,
		kms_key_id, is_binary, ciphertext)
		SELECT $1, $2, nextval('version_seq'), $3, $4, $5, $6, $7
		WHERE EXISTS (SELECT 1 FROM secrets WHERE arn = $1)
		ON CONFLICT DO NOTHING RETURNING seq`,
		[]any{v.SecretARN, v.VersionID, toMillis(v.Created), toMillis(v.LastAccessed), v.KmsKeyID, v.Binary, v.Ciphertext}, &seq)
	if errors.Is(err, storage.ErrNotFound) {
		return t.conflictOrMissing(op, v.SecretARN, fmt.Errorf("postgres: %s: no such secret: %w", op, storage.ErrNotFound))
	}
	if err != nil {
		return err
	}
	v.Seq = seq
	return nil
}

func (t *tx) UpdateVersion(v *storage.Version) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed(fmt.Sprintf("update version %s of %s", v.VersionID, v.SecretARN),
		`UPDATE versions SET created_ms = $3, last_accessed_ms = $4, kms_key_id = $5,
		is_binary = $6, ciphertext = $7 WHERE secret_arn = $1 AND version_id = $2`,
		v.SecretARN, v.VersionID, toMillis(v.Created), toMillis(v.LastAccessed), v.KmsKeyID, v.Binary, v.Ciphertext)
}

func (t *tx) DeleteVersion(secretARN, versionID string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed(fmt.Sprintf("delete version %s of %s", versionID, secretARN),
		"DELETE FROM versions WHERE secret_arn = $1 AND version_id = $2", secretARN, versionID)
}

// scanVersion reads versionCols, then "ciphertext IS NOT NULL, ciphertext"
// when withValue is set.
func scanVersion(r pgx.Row, withValue bool) (*storage.Version, error) {
	var v storage.Version
	var created, accessed int64
	dest := []any{&v.SecretARN, &v.VersionID, &v.Seq, &created, &accessed, &v.KmsKeyID, &v.Binary}
	var hasValue bool
	if withValue {
		dest = append(dest, &hasValue, &v.Ciphertext)
	}
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	v.Created = fromMillis(created)
	v.LastAccessed = fromMillis(accessed)
	switch {
	case !hasValue:
		v.Ciphertext = nil
	case v.Ciphertext == nil:
		v.Ciphertext = []byte{} // an empty value is still a value
	}
	return &v, nil
}

func (t *tx) Version(secretARN, versionID string) (*storage.Version, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	return record(t, fmt.Sprintf("version %s of %s", versionID, secretARN),
		"SELECT "+versionCols+", ciphertext IS NOT NULL, ciphertext FROM versions WHERE secret_arn = $1 AND version_id = $2",
		[]any{secretARN, versionID}, func(r pgx.Row) (*storage.Version, error) { return scanVersion(r, true) })
}

func (t *tx) Versions(secretARN string, withValues bool) ([]*storage.Version, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	cols := versionCols
	if withValues {
		cols += ", ciphertext IS NOT NULL, ciphertext"
	}
	return records(t, "versions of "+secretARN, "SELECT "+cols+" FROM versions WHERE secret_arn = $1 ORDER BY created_ms, seq",
		[]any{secretARN}, func(r pgx.Row) (*storage.Version, error) { return scanVersion(r, withValues) })
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
