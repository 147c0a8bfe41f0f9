package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/coffer-dev/coffer/internal/storage"
)

// tx implements storage.Tx: in an Update, over the write connection inside
// the group's transaction; in a View, over the read cache and, from the first
// read that needs SQL on, over a read connection inside a read transaction
// (view.go).
type tx struct {
	c *conn // nil in a View until it begins its SQL transaction
	// ctx is the View's context, checked before each statement so that a
	// cancelled View stops between statements; nil in a write transaction,
	// whose statements always run to the end.
	ctx   context.Context
	write bool
	done  bool // the closure has returned
	// fatal is the first error of the database itself (not a constraint)
	// met in a write transaction. SQLite may have rolled the whole
	// transaction back by then, so the group this closure belongs to is
	// aborted and every later call of this tx fails.
	fatal error

	// In a write transaction: the secret ARNs this closure wrote, whose
	// cache entries the writer drops when the group commits.
	touched []string
	// In a write transaction: the head of the audit trail as this closure
	// last read or wrote it (auditKnown), so that AppendAudit of its
	// successor needs no guarded INSERT ... SELECT (which reads the table
	// it writes through a temporary copy). Only this closure writes while
	// it runs, so the head it saw stays the head.
	auditSeq   int64
	auditKnown bool

	// In a View:
	db *DB
	// pinned: the View holds db.cache.barrier shared, from its first
	// cached read until its SQL snapshot is established.
	pinned bool
	// served: a record came from the cache.
	served bool
	// gen is the cache generation loaded before the SQL snapshot began.
	gen uint64
}

var _ storage.Tx = (*tx)(nil)

// usable checks what every method checks first.
func (t *tx) usable() error {
	if t.done {
		return errTxDone
	}
	if t.fatal != nil {
		return t.fatal
	}
	if t.ctx != nil {
		return t.ctx.Err()
	}
	return nil
}

// check makes t ready for a read through SQL: in a View, it begins the SQL
// transaction if it has not begun yet.
func (t *tx) check() error {
	if err := t.usable(); err != nil {
		return err
	}
	if t.c == nil {
		return t.begin()
	}
	return nil
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

// touch records that the closure writes the secret arn or its versions. Every
// method that writes a row of secrets or versions must call it, or the read
// cache would keep serving the old record (see doc.go).
func (t *tx) touch(arn string) { t.touched = append(t.touched, arn) }

// fail turns a driver error into the error the caller sees: ErrConflict for a
// unique key, ErrNotFound for a missing parent row (notFound is what to call
// it); anything else is fatal to a write transaction.
func (t *tx) fail(op string, err error, notFound string) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("sqlite: %s: %w", op, storage.ErrConflict)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			if notFound != "" {
				return fmt.Errorf("sqlite: %s: %s: %w", op, notFound, storage.ErrNotFound)
			}
		}
	}
	err = fmt.Errorf("sqlite: %s: %w", op, err)
	if t.write && t.fatal == nil {
		t.fatal = err
	}
	return err
}

// affected runs a statement and returns how many rows it changed.
func (t *tx) affected(op string, id stmtID, args ...any) (int64, error) {
	res, err := t.c.exec(id, args...)
	if err != nil {
		return 0, t.fail(op, err, "")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.fail(op, err, "")
	}
	return n, nil
}

// changed runs an UPDATE or DELETE of one row: none is ErrNotFound.
func (t *tx) changed(op string, id stmtID, args ...any) error {
	n, err := t.affected(op, id, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, storage.ErrNotFound)
	}
	return nil
}

// one runs a query expected to return at most one row and scans it with
// scan; no row is ErrNotFound. notFound is passed on to fail.
func (t *tx) one(op, notFound string, scan func(*sql.Rows) error, id stmtID, args ...any) error {
	rows, err := t.c.query(id, args...)
	if err != nil {
		return t.fail(op, err, notFound)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return t.fail(op, err, notFound)
		}
		return fmt.Errorf("sqlite: %s: %w", op, storage.ErrNotFound)
	}
	if err := scan(rows); err != nil {
		// A scan or decoding error, not one of the database: not fatal.
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := rows.Close(); err != nil {
		return t.fail(op, err, notFound)
	}
	return nil
}

// records runs a query and returns its rows as scan reads them.
func records[T any](t *tx, op string, scan func(*sql.Rows) (T, error), id stmtID, args ...any) ([]T, error) {
	rows, err := t.c.query(id, args...)
	if err != nil {
		return nil, t.fail(op, err, "")
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			// A scan or decoding error, not one of the database: not fatal.
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err, "")
	}
	return out, nil
}

func (t *tx) InsertAccount(a *storage.Account) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	if _, err := t.c.exec(stInsertAccount, a.ID, toMillis(a.Created)); err != nil {
		return t.fail("insert account "+a.ID, err, "")
	}
	return nil
}

func (t *tx) Account(id string) (*storage.Account, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var a storage.Account
	var created int64
	err := t.one("account "+id, "", func(r *sql.Rows) error {
		return r.Scan(&a.ID, &created)
	}, stAccount, id)
	if err != nil {
		return nil, err
	}
	a.Created = fromMillis(created)
	return &a, nil
}

func (t *tx) InsertAccessKey(k *storage.AccessKey) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	_, err := t.c.exec(stInsertAccessKey, k.ID, k.Account, k.Principal, blob(k.SecretCiphertext), k.Active, toMillis(k.Created))
	if err != nil {
		return t.fail("insert access key "+k.ID, err, "")
	}
	return nil
}

// scanAccessKey reads one row of "id, account, principal,
// secret_ciphertext, active, created_ms".
func scanAccessKey(r *sql.Rows) (*storage.AccessKey, error) {
	var k storage.AccessKey
	var created int64
	if err := r.Scan(&k.ID, &k.Account, &k.Principal, &k.SecretCiphertext, &k.Active, &created); err != nil {
		return nil, err
	}
	k.Created = fromMillis(created)
	return &k, nil
}

func (t *tx) AccessKey(id string) (*storage.AccessKey, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var k *storage.AccessKey
	err := t.one("access key "+id, "", func(r *sql.Rows) (err error) {
		k, err = scanAccessKey(r)
		return err
	}, stAccessKey, id)
	return k, err
}

func (t *tx) InsertKey(k *storage.Key) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	if _, err := t.c.exec(stInsertKey, k.Account, k.Region, k.KeyID, blob(k.Material), toMillis(k.Created)); err != nil {
		return t.fail(fmt.Sprintf("insert key %s/%s/%s", k.Account, k.Region, k.KeyID), err, "")
	}
	return nil
}

func (t *tx) Key(account, region, keyID string) (*storage.Key, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var k storage.Key
	var created int64
	err := t.one(fmt.Sprintf("key %s/%s/%s", account, region, keyID), "", func(r *sql.Rows) error {
		return r.Scan(&k.Account, &k.Region, &k.KeyID, &k.Material, &created)
	}, stKey, account, region, keyID)
	if err != nil {
		return nil, err
	}
	k.Created = fromMillis(created)
	return &k, nil
}

// secretArgs returns the values of secretCols for s, in order.
func secretArgs(s *storage.Secret) ([]any, error) {
	tags, err := encodeTags(s.Tags)
	if err != nil {
		return nil, fmt.Errorf("encode tags: %w", err)
	}
	stages, err := encodeStages(s.Stages)
	if err != nil {
		return nil, fmt.Errorf("encode stages: %w", err)
	}
	return []any{
		s.ARN, s.Account, s.Region, s.Name, s.Description, s.KmsKeyID, s.Type,
		tags, s.TagsSet, stages,
		toMillis(s.Created), toMillis(s.LastChanged), toMillis(s.LastAccessed), toMillis(s.DeletionDate),
		blob(s.Attrs),
	}, nil
}

func (t *tx) InsertSecret(s *storage.Secret) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	t.touch(s.ARN)
	args, err := secretArgs(s)
	if err != nil {
		return fmt.Errorf("sqlite: insert secret %s: %w", s.ARN, err)
	}
	if _, err := t.c.exec(stInsertSecret, args...); err != nil {
		return t.fail("insert secret "+s.ARN, err, "")
	}
	return t.indexInserted(s) // ListSecrets filter index (search.go)
}

func (t *tx) UpdateSecret(s *storage.Secret) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	t.touch(s.ARN) // its old name goes with its cache entry
	args, err := secretArgs(s)
	if err != nil {
		return fmt.Errorf("sqlite: update secret %s: %w", s.ARN, err)
	}
	if err := t.changed("update secret "+s.ARN, stUpdateSecret, args...); err != nil {
		return err
	}
	return t.indexUpdated(s) // ListSecrets filter index (search.go)
}

func (t *tx) DeleteSecret(arn string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	t.touch(arn)
	return t.changed("delete secret "+arn, stDeleteSecret, arn) // versions go by ON DELETE CASCADE
}

func (t *tx) ExpiredSecrets(before time.Time, limit int) ([]string, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return records(t, "expired secrets", func(r *sql.Rows) (arn string, err error) {
		err = r.Scan(&arn)
		return arn, err
	}, stExpiredSecrets, toMillis(before), limit)
}

// scanSecret reads one row of secretCols.
func scanSecret(r *sql.Rows) (*storage.Secret, error) {
	var s storage.Secret
	var tags, stages sql.RawBytes
	var created, changed, accessed, deletion int64
	if err := r.Scan(&s.ARN, &s.Account, &s.Region, &s.Name, &s.Description, &s.KmsKeyID, &s.Type,
		&tags, &s.TagsSet, &stages, &created, &changed, &accessed, &deletion, &s.Attrs); err != nil {
		return nil, err
	}
	var err error
	if s.Tags, err = decodeTags(tags); err != nil {
		return nil, fmt.Errorf("secret %s: decode tags: %w", s.ARN, err)
	}
	if s.Stages, err = decodeStages(stages); err != nil {
		return nil, fmt.Errorf("secret %s: decode stages: %w", s.ARN, err)
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

func (t *tx) secret(op string, id stmtID, args ...any) (*storage.Secret, error) {
	var s *storage.Secret
	err := t.one(op, "", func(r *sql.Rows) (err error) {
		s, err = scanSecret(r)
		return err
	}, id, args...)
	return s, err
}

func (t *tx) SecretByName(account, region, name string) (*storage.Secret, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if s := t.cachedSecret(nameKey{account, region, name}, ""); s != nil {
		return s, nil
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	s, err := t.secret(fmt.Sprintf("secret %s/%s/%s", account, region, name), stSecretByName, account, region, name)
	if err == nil {
		t.fillSecret(s)
	}
	return s, err
}

func (t *tx) SecretByARN(arn string) (*storage.Secret, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if s := t.cachedSecret(nameKey{}, arn); s != nil {
		return s, nil
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	s, err := t.secret("secret "+arn, stSecretByARN, arn)
	if err == nil {
		t.fillSecret(s)
	}
	return s, err
}

// ListSecrets is in list.go.

func (t *tx) InsertVersion(v *storage.Version) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	t.touch(v.SecretARN)
	op := fmt.Sprintf("insert version %s of %s", v.VersionID, v.SecretARN)
	var seq int64
	err := t.one(op, "no such secret", func(r *sql.Rows) error { return r.Scan(&seq) },
		stInsertVersion, v.SecretARN, v.VersionID, toMillis(v.Created), toMillis(v.LastAccessed),
		v.KmsKeyID, v.Binary, v.Ciphertext)
	if err != nil {
		return err
	}
	if _, err := t.c.exec(stBumpVersionSeq); err != nil {
		return t.fail(op, err, "")
	}
	v.Seq = seq
	return nil
}

func versionArgs(v *storage.Version) []any {
	return []any{v.SecretARN, v.VersionID, toMillis(v.Created), toMillis(v.LastAccessed), v.KmsKeyID, v.Binary, v.Ciphertext}
}

func (t *tx) UpdateVersion(v *storage.Version) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	t.touch(v.SecretARN)
	return t.changed(fmt.Sprintf("update version %s of %s", v.VersionID, v.SecretARN), stUpdateVersion, versionArgs(v)...)
}

func (t *tx) DeleteVersion(secretARN, versionID string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	t.touch(secretARN)
	return t.changed(fmt.Sprintf("delete version %s of %s", versionID, secretARN), stDeleteVersion, secretARN, versionID)
}

// scanVersion reads one row of versionCols, followed by "ciphertext IS NOT
// NULL, ciphertext" when withValue is set.
func scanVersion(r *sql.Rows, withValue bool) (*storage.Version, error) {
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
	if v := t.cachedVersion(secretARN, versionID); v != nil {
		return v, nil
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	var v *storage.Version
	err := t.one(fmt.Sprintf("version %s of %s", versionID, secretARN), "", func(r *sql.Rows) (err error) {
		v, err = scanVersion(r, true)
		return err
	}, stVersion, secretARN, versionID)
	if err == nil {
		t.fillVersion(v)
	}
	return v, err
}

func (t *tx) Versions(secretARN string, withValues bool) ([]*storage.Version, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	id := stVersionsNoValues
	if withValues {
		id = stVersionsWithValues
	}
	return records(t, "versions of "+secretARN, func(r *sql.Rows) (*storage.Version, error) {
		return scanVersion(r, withValues)
	}, id, secretARN)
}
