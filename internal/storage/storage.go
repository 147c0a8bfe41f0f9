// Package storage defines the persistence contract of coffer: a Store that runs
// closure transactions over typed records (accounts, access keys, key-encryption
// keys, secrets and secret versions).
//
// The domain packages (secrets, iam) import this package; concrete backends live
// in sub-packages (storage/sqlite, later storage/postgres) and are chosen by
// internal/server alone. Every backend must pass the conformance suite in
// storage/storagetest.
//
// Records hold only ciphertext for secret material: a backend never sees a
// secret value, a data key or an access key secret in clear.
package storage

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns (wrapped or bare; callers use errors.Is).
var (
	// ErrNotFound reports that the addressed record does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict reports that an insert collided with a unique key
	// (secret name in an account and region, version id in a secret, ...).
	ErrConflict = errors.New("storage: conflict")
)

// Store is a transactional record store.
//
// View runs fn in a read-only transaction. Update runs fn in a read-write
// transaction that commits when fn returns nil and rolls back when fn returns an
// error or panics (the panic is re-raised after the rollback). When Update
// returns nil the transaction is durable: it survives a crash of the process or
// the machine. Backends may commit several concurrent Update calls together
// (group commit); each closure still sees its own effects and fails alone.
//
// A Tx must not be used after its closure returns, nor from another goroutine.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Read methods return ErrNotFound for a missing record;
// Insert methods return ErrConflict for an existing one; Update and Delete
// methods return ErrNotFound when there is nothing to change.
type Tx interface {
	// Accounts and access keys.
	InsertAccount(a *Account) error
	Account(id string) (*Account, error)
	InsertAccessKey(k *AccessKey) error
	AccessKey(id string) (*AccessKey, error)

	// Key-encryption keys, addressed by (account, region, key id).
	InsertKey(k *Key) error
	Key(account, region, keyID string) (*Key, error)

	// Secrets. A name is unique within (account, region) among secrets that
	// exist (active or scheduled for deletion). The ARN is the primary key.
	InsertSecret(s *Secret) error
	UpdateSecret(s *Secret) error
	// DeleteSecret removes the secret and all its versions.
	DeleteSecret(arn string) error
	SecretByName(account, region, name string) (*Secret, error)
	SecretByARN(arn string) (*Secret, error)
	// ListSecrets returns up to q.Limit secrets of (q.Account, q.Region) ordered
	// by (Created, ARN) ascending, starting strictly after q.After when it is set.
	ListSecrets(q SecretQuery) ([]*Secret, error)

	// Versions of a secret, addressed by (secret ARN, version id).
	InsertVersion(v *Version) error
	UpdateVersion(v *Version) error
	DeleteVersion(secretARN, versionID string) error
	Version(secretARN, versionID string) (*Version, error)
	// Versions returns every version of the secret ordered by (Created, Seq)
	// ascending. With withValues false the Ciphertext field is left nil.
	Versions(secretARN string, withValues bool) ([]*Version, error)
}

// Account is a tenant: a 12-digit account id.
type Account struct {
	ID      string
	Created time.Time
}

// AccessKey is a SigV4 credential. SecretCiphertext is the secret access key
// sealed by the root key; the store never sees it in clear.
type AccessKey struct {
	ID               string // AKIA...
	Account          string
	Principal        string // ARN of the user or root the key belongs to
	SecretCiphertext []byte
	Active           bool
	Created          time.Time
}

// Key is a key-encryption key (what a KmsKeyId names), sealed by the root key.
type Key struct {
	Account  string
	Region   string
	KeyID    string // as resolved by the domain, e.g. "alias/aws/secretsmanager"
	Material []byte // sealed key bytes
	Created  time.Time
}

// Tag is one secret tag; order is preserved as given.
type Tag struct {
	Key   string
	Value string
}

// Secret is the metadata of one secret. Labels (staging labels) live here so
// that every label move is a single-record update.
type Secret struct {
	ARN         string
	Account     string
	Region      string
	Name        string
	Description string
	KmsKeyID    string // "" means the account's default key
	Type        string
	Tags        []Tag
	// TagsSet is true once tags were ever attached, so that an emptied tag
	// list still answers "Tags": [].
	TagsSet bool
	// Stages maps version id to its staging labels, for labelled versions only.
	Stages map[string][]string

	Created      time.Time
	LastChanged  time.Time
	LastAccessed time.Time // zero: never read; otherwise midnight UTC of the day
	// DeletionDate is when a secret scheduled for deletion will be purged;
	// zero for an active secret.
	DeletionDate time.Time

	// Attrs carries settings of later features (rotation, policy, replication)
	// as an opaque JSON document owned by the domain. nil when empty.
	Attrs []byte
}

// Version is one secret version. Ciphertext is nil for a version without a
// value (a rotation placeholder).
type Version struct {
	SecretARN    string
	VersionID    string
	Seq          int64 // assigned by the store on insert: increasing per store
	Created      time.Time
	LastAccessed time.Time
	KmsKeyID     string // key the value was sealed under ("" = default)
	Binary       bool   // SecretBinary rather than SecretString
	Ciphertext   []byte
}

// SecretQuery selects a page of secrets for ListSecrets.
type SecretQuery struct {
	Account        string
	Region         string
	IncludeDeleted bool
	// After is the (Created, ARN) position of the last item of the previous
	// page; nil starts from the beginning.
	After *Cursor
	Limit int
}

// Cursor is a stable position in the (Created, ARN) order.
type Cursor struct {
	Created time.Time
	ARN     string
}
