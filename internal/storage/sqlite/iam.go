package sqlite

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/coffer-dev/coffer/internal/storage"
)

// The IAM side of the store: accounts listing, access key upkeep and IAM
// entities (migration 0004). None of these records is in the read cache
// (cache.go holds secrets and versions only), so every read goes to SQL and
// no write needs to touch a cache entry.

func (t *tx) Accounts() ([]*storage.Account, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return records(t, "accounts", func(r *sql.Rows) (*storage.Account, error) {
		var a storage.Account
		var created int64
		if err := r.Scan(&a.ID, &created); err != nil {
			return nil, err
		}
		a.Created = fromMillis(created)
		return &a, nil
	}, stAccounts)
}

func (t *tx) UpdateAccessKey(k *storage.AccessKey) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed("update access key "+k.ID, stUpdateAccessKey,
		k.ID, k.Account, k.Principal, blob(k.SecretCiphertext), k.Active, toMillis(k.Created))
}

func (t *tx) DeleteAccessKey(id string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed("delete access key "+id, stDeleteAccessKey, id)
}

func (t *tx) AccessKeys(account, principal string) ([]*storage.AccessKey, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return records(t, "access keys of "+principal, scanAccessKey, stAccessKeys, account, principal)
}

// entityKey is the name_key of an entity: names compare case-insensitively. Lower-casing is
// done here rather than with SQL lower(), so that every backend keys a name
// alike (SQLite's lower() folds ASCII only).
func entityKey(name string) string { return strings.ToLower(name) }

// entityDoc is the doc column's value: never NULL, "{}" for an empty doc.
func entityDoc(doc []byte) []byte {
	if len(doc) == 0 {
		return []byte("{}")
	}
	return doc
}

func entityOp(verb, account string, kind storage.EntityKind, name string) string {
	return fmt.Sprintf("%s %s %s/%s", verb, kind, account, name)
}

func (t *tx) InsertEntity(e *storage.Entity) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	_, err := t.c.exec(stInsertEntity, e.Account, string(e.Kind), entityKey(e.Name), e.Name, e.ID, e.Path,
		toMillis(e.Created), entityDoc(e.Doc))
	if err != nil {
		return t.fail(entityOp("insert", e.Account, e.Kind, e.Name), err, "")
	}
	return nil
}

func scanEntity(r *sql.Rows) (*storage.Entity, error) {
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

func (t *tx) Entity(account string, kind storage.EntityKind, name string) (*storage.Entity, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var e *storage.Entity
	err := t.one(entityOp("read", account, kind, name), "", func(r *sql.Rows) (err error) {
		e, err = scanEntity(r)
		return err
	}, stEntity, account, string(kind), entityKey(name))
	return e, err
}

func (t *tx) UpdateEntity(e *storage.Entity) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed(entityOp("update", e.Account, e.Kind, e.Name), stUpdateEntity,
		e.Account, string(e.Kind), entityKey(e.Name), e.Name, e.ID, e.Path, toMillis(e.Created), entityDoc(e.Doc))
}

func (t *tx) DeleteEntity(account string, kind storage.EntityKind, name string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	return t.changed(entityOp("delete", account, kind, name), stDeleteEntity, account, string(kind), entityKey(name))
}

func (t *tx) Entities(account string, kind storage.EntityKind) ([]*storage.Entity, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return records(t, fmt.Sprintf("%ss of %s", kind, account), scanEntity, stEntities, account, string(kind))
}
