// Package storage defines the persistence contract of coffer: a Store that runs
// closure transactions over typed records (accounts, access keys, key-encryption
// keys, secrets and secret versions).
//
// The domain packages (secrets, iam) import this package; concrete backends live
// in sub-packages (storage/sqlite, storage/postgres) and are chosen by
// internal/server alone. Optional powers are small interfaces a backend may
// implement: Leaser (lease.go: background jobs run once across a cluster) and
// Snapshotter (snapshot.go: backup and restore). Every backend must pass the conformance suite in
// storage/storagetest.
//
// Records hold only ciphertext for secret material: a backend never sees a
// secret value, a data key or an access key secret in clear.
//
// # How records read back
//
// Every backend stores time.Time fields in UTC at millisecond precision: a
// time reads back as the instant written, rounded down to the millisecond, in
// UTC (Location() == time.UTC); the zero time reads back as the zero time.
// Beyond that, a record reads back as written, with these normalisations:
// Secret.Stages is never nil (an empty map when no version is labelled), the
// label lists keep their order; Secret.Tags keeps its order and is nil when
// empty; Secret.Attrs is nil when empty; Version.Ciphertext is nil exactly
// when it was written nil (a placeholder without a value).
//
// Who may import what: the domain (secrets, iam) imports this package and
// never a backend; only internal/server picks a backend.
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

// Store is a transactional record store, safe for concurrent use.
//
// View runs fn in a read-only transaction on a consistent snapshot. Update runs fn in a read-write
// transaction that commits when fn returns nil and rolls back when fn returns an
// error or panics (the panic is re-raised after the rollback). When Update
// returns nil the transaction is durable: it survives a crash of the process or
// the machine. Backends may commit several concurrent Update calls together
// (group commit); each closure still sees its own effects and fails alone.
// Both return ctx.Err() without running fn when ctx is already done.
// A backend may run an Update closure more than once (PostgreSQL retries a
// transaction that lost a serialization race), so a closure must have no
// effect outside its transaction.
//
// A Tx must not be used after its closure returns, nor from another goroutine.
// A closure must not call View or Update itself: backends may deadlock.
// Write methods of a View's Tx return an error.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Read methods return ErrNotFound for a missing record;
// Insert methods return ErrConflict for an existing one; Update and Delete
// methods return ErrNotFound when there is nothing to change. A method that
// fails has no effect and leaves the transaction usable: a closure may meet
// ErrConflict, read the record that won and still commit (a PostgreSQL
// backend needs a savepoint around such statements for this).
type Tx interface {
	// Accounts and access keys.
	InsertAccount(a *Account) error
	Account(id string) (*Account, error)
	// Accounts returns every account ordered by id.
	Accounts() ([]*Account, error)
	InsertAccessKey(k *AccessKey) error
	AccessKey(id string) (*AccessKey, error)
	// UpdateAccessKey changes every field but the id.
	UpdateAccessKey(k *AccessKey) error
	DeleteAccessKey(id string) error
	// AccessKeys returns the keys of one principal (by ARN) ordered by
	// (Created, ID).
	AccessKeys(account, principal string) ([]*AccessKey, error)

	// IAM entities (users, groups, roles, managed policies), addressed by
	// (account, kind, name). Names compare case-insensitively, as IAM's
	// do: "Alice" and "alice" are the same user; the stored Name keeps the
	// case it was created with. InsertEntity returns ErrConflict for a
	// taken name. UpdateEntity changes every field but the key.
	InsertEntity(e *Entity) error
	Entity(account string, kind EntityKind, name string) (*Entity, error)
	UpdateEntity(e *Entity) error
	DeleteEntity(account string, kind EntityKind, name string) error
	// Entities returns every entity of one kind in an account, ordered by
	// name case-insensitively: by the lower-cased name (strings.ToLower),
	// compared byte-wise (in PostgreSQL: COLLATE "C"). Backends lower-case
	// names in Go, not with SQL lower(), so that every backend keys a name
	// alike.
	Entities(account string, kind EntityKind) ([]*Entity, error)

	// Key-encryption keys, addressed by (account, region, key id).
	InsertKey(k *Key) error
	Key(account, region, keyID string) (*Key, error)

	// Secrets. A name is unique within (account, region) among secrets that
	// exist (active or scheduled for deletion). The ARN is the primary key.
	// UpdateSecret rewrites every field but the ARN; it returns ErrConflict
	// when that would give the secret a name another secret holds.
	InsertSecret(s *Secret) error
	UpdateSecret(s *Secret) error
	// DeleteSecret removes the secret and all its versions.
	DeleteSecret(arn string) error
	// ExpiredSecrets returns the ARNs of up to limit secrets (of any account
	// and region) whose DeletionDate is set and not after before, earliest
	// first.
	ExpiredSecrets(before time.Time, limit int) ([]string, error)
	SecretByName(account, region, name string) (*Secret, error)
	SecretByARN(arn string) (*Secret, error)
	// ListSecrets returns up to q.Limit secrets of (q.Account, q.Region) that
	// satisfy every filter of q.Filters (see MatchFilters), in the order of
	// q.SortBy and q.Desc (see SortKey), starting strictly after q.After when
	// it is set. Paging with CursorAt(last item of a page) as the next After
	// is stable: no item that existed throughout and kept its sort key is
	// skipped or repeated, whatever is inserted or deleted between pages.
	// A backend evaluates the filters in its own query engine: it never
	// loads the secrets of the scope to filter them in memory. It returns an
	// error for an unknown filter key or sort key.
	ListSecrets(q SecretQuery) ([]*Secret, error)

	// The audit trail: records in append order, hash-chained by package
	// audit. AuditHead returns the last record's Seq and Hash (0 and nil
	// for an empty trail); in a write transaction it also serializes
	// appenders (PostgreSQL: the head row is locked FOR UPDATE), so that a
	// closure that reads the head and appends Seq+1 never races another.
	// AppendAudit inserts rs in order: the first's Seq must be the head's
	// Seq+1 and each next one's its predecessor's Seq+1, else ErrConflict
	// and nothing is inserted. AuditRecords returns up to limit records
	// with Seq > after, in Seq order. Digests are the signed checkpoints of
	// the chain.
	AuditHead() (seq int64, hash []byte, err error)
	AppendAudit(rs ...*AuditRecord) error
	AuditRecords(after int64, limit int) ([]*AuditRecord, error)
	InsertAuditDigest(d *AuditDigest) error
	// AuditDigests returns every digest in Seq order.
	AuditDigests() ([]*AuditDigest, error)
	// AuditJournalMark returns the mark of the audit journal (package
	// audit): the sequence number of the last journal frame whose record
	// is in the trail, 0 when none ever was. SetAuditJournalMark sets it
	// (in a write transaction, with the records it covers); the mark never
	// goes back: a smaller value than the stored one is ErrConflict.
	AuditJournalMark() (int64, error)
	SetAuditJournalMark(mark int64) error

	// Versions of a secret, addressed by (secret ARN, version id).
	// InsertVersion assigns v.Seq; it returns ErrNotFound when the secret
	// does not exist. UpdateVersion changes every field but the key and Seq.
	InsertVersion(v *Version) error
	UpdateVersion(v *Version) error
	DeleteVersion(secretARN, versionID string) error
	Version(secretARN, versionID string) (*Version, error)
	// Versions returns every version of the secret ordered by (Created, Seq)
	// ascending (empty, not an error, for a secret without versions or an
	// unknown secret). With withValues false the Ciphertext field is left nil.
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

// EntityKind names a kind of IAM entity.
type EntityKind string

// The IAM entity kinds.
const (
	EntityUser   EntityKind = "user"
	EntityGroup  EntityKind = "group"
	EntityRole   EntityKind = "role"
	EntityPolicy EntityKind = "policy" // customer managed policy
)

// Entity is one IAM user, group, role or managed policy. The store keeps
// the identifying fields in columns and everything else (tags, inline and
// attached policies, memberships, trust policy, policy versions) in Doc, an
// opaque JSON document owned by package iam.
type Entity struct {
	Account string
	Kind    EntityKind
	Name    string
	ID      string // AIDA..., AGPA..., AROA..., ANPA...
	Path    string // "/" or "/division/"
	Created time.Time
	Doc     []byte // never nil on read: "{}" at least when written empty
}

// AuditRecord is one record of the audit trail. Doc is the CloudTrail-shaped
// JSON record, exactly the bytes Hash covers; the other fields are copies
// for lookups. A record never holds a secret value.
type AuditRecord struct {
	Seq       int64 // 1, 2, 3, ... in append order
	Time      time.Time
	Account   string // recipientAccountId
	EventName string
	Doc       []byte
	PrevHash  []byte // Hash of record Seq-1 (nil for the first)
	Hash      []byte
}

// AuditDigest is a signed checkpoint of the trail: the head's Seq and Hash
// at Time, signed with the server's audit key.
type AuditDigest struct {
	Seq       int64
	Hash      []byte
	Time      time.Time
	KeyID     string
	Signature []byte
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

// SecretQuery selects a page of secrets for ListSecrets (and for
// BatchGetSecretValue with filters).
type SecretQuery struct {
	Account        string
	Region         string
	IncludeDeleted bool
	// Filters must all be satisfied (AND); see Filter and MatchFilters.
	Filters []Filter
	// SortBy and Desc choose the order; the zero values list by creation
	// date, oldest first.
	SortBy SortKey
	Desc   bool
	// After is the position of the last item of the previous page in the
	// query's order (CursorAt of that item); nil starts from the beginning.
	After *Cursor
	Limit int // <= 0: no limit
}

// SortKey is the order of ListSecrets. Every order breaks ties by ARN, in
// the same direction as the key (ascending, or descending with Desc).
type SortKey int

// The sort keys.
const (
	// SortCreated orders by Created.
	SortCreated SortKey = iota
	// SortName orders by Name, byte-wise.
	SortName
	// SortLastChanged orders by LastChanged.
	SortLastChanged
	// SortLastAccessed orders by LastAccessed; secrets never accessed (a
	// zero LastAccessed) come after all others in both directions.
	SortLastAccessed
)

// Cursor is a position in a ListSecrets order: the sort key of the query's
// order and the ARN. Only the field of the query's SortKey is read, so a
// Cursor made by CursorAt serves every order; a position that is not an
// item's also splits the order (Created: t, ARN: "" is before every secret
// created at t).
type Cursor struct {
	ARN          string
	Created      time.Time // SortCreated
	Name         string    // SortName
	LastChanged  time.Time // SortLastChanged
	LastAccessed time.Time // SortLastAccessed (zero: never accessed)
}

// CursorAt returns the position of s, for the After of the next page.
func CursorAt(s *Secret) *Cursor {
	return &Cursor{ARN: s.ARN, Created: s.Created, Name: s.Name, LastChanged: s.LastChanged, LastAccessed: s.LastAccessed}
}
