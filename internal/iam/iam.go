// Package iam keeps coffer's identities: accounts, IAM users, groups, roles,
// customer managed and inline policies, the SigV4 access keys that
// authenticate principals, and STS role sessions (AssumeRole). It answers
// two questions on every request's path: which principal signed with this
// key (LookupAccessKey) and which policies apply to it (Identity).
//
// Access key secrets are needed in clear to verify HMAC signatures, so they are
// stored sealed by the root key (never hashed, never in clear) and kept
// unsealed only in this package's in-memory cache. Temporary credentials are
// not stored at all: the session token carries the session, sealed by the
// root key, so that any node sharing the root key verifies it without a
// store read.
//
// # Consistency
//
// IAM is eventually consistent, in AWS and here. A change made through this
// Service (a key deactivated or deleted, a policy changed) takes effect on
// this node at once: the credential is dropped from the cache and every
// cached Identity is discarded. Several coffer nodes may share one store; a
// node does not hear of another's changes, so every cache entry
// (credentials and identities) lives at most CacheTTL (2 seconds) before it
// is read from the store again. A deactivated key therefore stops working on
// every node within 2 seconds.
//
// Imported by internal/server (wiring), internal/awsapi (to resolve the key of
// a signed request and serve the IAM and STS APIs) and internal/secrets
// (principal and identity types). It must not import net/http,
// internal/awsapi, internal/seal or any storage driver.
package iam

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/storage"
)

// CacheTTL bounds the life of every cached credential and identity, so that a
// change made on another node sharing the store is seen within it.
const CacheTTL = 2 * time.Second

// ErrUnknownKey reports an access key id that does not exist or is inactive,
// or a session token that does not belong to it.
var ErrUnknownKey = errors.New("iam: unknown access key")

// ErrExpiredToken reports temporary credentials whose session has expired
// (the front door answers ExpiredTokenException).
var ErrExpiredToken = errors.New("iam: the security token included in the request is expired")

// PrincipalKind says what kind of principal signed a request.
type PrincipalKind int

// The principal kinds. The zero value is no kind: a Principal built
// without one is allowed nothing (Identity gives it no policies).
const (
	KindRoot        PrincipalKind = iota + 1 // the account's root user
	KindUser                                 // an IAM user
	KindAssumedRole                          // a role session (temporary credentials)
)

// Principal is an authenticated caller.
type Principal struct {
	Account string // 12-digit account id
	// ARN: arn:aws:iam::123456789012:root, ...:user/path/name, or
	// arn:aws:sts::123456789012:assumed-role/ROLE/SESSION.
	ARN   string
	KeyID string // access key id that signed the request

	Kind PrincipalKind
	// Name is the user's name (KindUser) or the role's name
	// (KindAssumedRole); "" for the root.
	Name string
	// UserID is aws:userid: the account id for the root, the user's AIDA...
	// id, or "AROA...:SESSION" for a role session.
	UserID string
	// RoleARN and SessionName are set for KindAssumedRole.
	RoleARN     string
	SessionName string

	// sessionPolicy is the session policy of a role session ("" if none),
	// as the session token carried it.
	sessionPolicy string
}

// Credential is an access key with its secret in clear. It never prints the
// secret.
type Credential struct {
	Principal Principal
	secret    string
	// Expires is when temporary credentials stop working; zero for
	// permanent keys.
	Expires time.Time
}

// Secret returns the secret access key, for signature verification only.
func (c *Credential) Secret() string { return c.secret }

// String implements fmt.Stringer without the secret, for a Credential
// value as well as a pointer.
func (c Credential) String() string { return "iam.Credential{" + c.Principal.KeyID + " REDACTED}" }

// GoString implements fmt.GoStringer without the secret.
func (c Credential) GoString() string { return c.String() }

// Service manages accounts, IAM entities, access keys and role sessions.
type Service struct {
	store     storage.Store
	root      envelope.Wrapper
	partition string
	now       func() time.Time
	// trail receives every write's audit record (SetTrail, audit.go).
	trail *audit.Trail

	mu sync.RWMutex
	// creds caches credentials by access key id; ids caches identities.
	creds     map[string]credEntry
	ids       map[identityKey]identityEntry
	nextSweep int // sweep expired entries when a map grows past this
}

type credEntry struct {
	cred    *Credential
	token   string // the session token it was opened from (ASIA keys)
	expires time.Time
}

// identityKey addresses a cached Identity: by ARN, and for role sessions
// also by key id (each session has its own session policy).
type identityKey struct{ arn, keyID string }

type identityEntry struct {
	id      *Identity
	expires time.Time
}

// New returns a Service over store; root seals access key secrets and
// session tokens. now is the clock (time.Now outside tests).
func New(store storage.Store, root envelope.Wrapper, partition string, now func() time.Time) *Service {
	return &Service{
		store: store, root: root, partition: partition, now: now,
		creds: make(map[string]credEntry), ids: make(map[identityKey]identityEntry),
		nextSweep: minSweep,
	}
}

const minSweep = 1024

var (
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	accessKeyRE = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
)

// ValidateAccountID reports whether id is a 12-digit account id.
func ValidateAccountID(id string) error {
	if !accountRE.MatchString(id) {
		return fmt.Errorf("account id %q must be 12 digits", id)
	}
	return nil
}

// ValidateAccessKey reports whether the id and secret are usable as a root key.
func ValidateAccessKey(id, secret string) error {
	var errs []error
	if !accessKeyRE.MatchString(id) {
		errs = append(errs, fmt.Errorf("access key id %q must be 16-128 upper-case letters and digits", id))
	}
	if len(secret) < 16 || len(secret) > 128 {
		errs = append(errs, errors.New("secret access key must be 16-128 characters"))
	}
	return errors.Join(errs...)
}

const secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// NewRootKey generates an access key pair in AWS's shapes: a 20-character
// AKIA... id and a 40-character secret.
func NewRootKey() (id, secret string) {
	return "AKIA" + randomString(16, idChars), randomString(40, secretChars)
}

// NewAccountID generates a random 12-digit account id.
func NewAccountID() string { return randomString(12, "0123456789") }

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // alphabets are 10, 32 or 64 long: no bias for 32/64
	}
	return string(b)
}

// RootARN is the ARN of an account's root principal.
func (s *Service) RootARN(account string) string {
	return "arn:" + s.partition + ":iam::" + account + ":root"
}

// EnsureRoot makes sure the account exists and that keyID is one of its root
// access keys with the given secret. It reports whether anything was created;
// when it creates anything, the pending audit record of ctx (if any) commits
// in the same transaction. A key id that exists with another secret or
// another account is an error.
func (s *Service) EnsureRoot(ctx context.Context, account, keyID, secret string) (created bool, err error) {
	sealed, err := s.root.Wrap(ctx, []byte(secret), keyAAD(keyID))
	if err != nil {
		return false, fmt.Errorf("seal access key: %w", err)
	}
	var existing *storage.AccessKey
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		now := s.now().UTC()
		if _, err := tx.Account(account); errors.Is(err, storage.ErrNotFound) {
			if err := tx.InsertAccount(&storage.Account{ID: account, Created: now}); err != nil {
				return err
			}
			created = true
		} else if err != nil {
			return err
		}
		k, err := tx.AccessKey(keyID)
		if err == nil {
			existing = k
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		created = true
		if err := tx.InsertAccessKey(&storage.AccessKey{
			ID: keyID, Account: account, Principal: s.RootARN(account),
			SecretCiphertext: sealed, Active: true, Created: now,
		}); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, account, map[string]any{"accountId": account})
	})
	if err != nil || existing == nil {
		return created, err
	}
	if existing.Account != account {
		return created, fmt.Errorf("access key %s belongs to account %s, not %s", keyID, existing.Account, account)
	}
	old, err := s.root.Unwrap(ctx, existing.SecretCiphertext, keyAAD(keyID))
	if err != nil {
		return created, fmt.Errorf("unseal access key %s: %w", keyID, err)
	}
	if string(old) != secret {
		return created, fmt.Errorf("access key %s already exists with a different secret", keyID)
	}
	return created, nil
}

// CreateAccount adds an account with a new root access key (coffer account
// create); id "" generates an account id. It is called on the store
// directly, with no caller to authorize. An existing account is an *Error
// with Code EntityAlreadyExists.
func (s *Service) CreateAccount(ctx context.Context, id string) (accountID, keyID, secret string, err error) {
	if id == "" {
		id = NewAccountID()
	} else if err := ValidateAccountID(id); err != nil {
		return "", "", "", newError("ValidationError", "The account id %s must be 12 digits.", id)
	}
	keyID, secret = NewRootKey()
	sealed, err := s.root.Wrap(ctx, []byte(secret), keyAAD(keyID))
	if err != nil {
		return "", "", "", fmt.Errorf("seal access key: %w", err)
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		now := s.clock()
		if err := tx.InsertAccount(&storage.Account{ID: id, Created: now}); errors.Is(err, storage.ErrConflict) {
			return newError("EntityAlreadyExists", "Account %s already exists.", id)
		} else if err != nil {
			return err
		}
		if err := tx.InsertAccessKey(&storage.AccessKey{
			ID: keyID, Account: id, Principal: s.RootARN(id),
			SecretCiphertext: sealed, Active: true, Created: now,
		}); err != nil {
			return err
		}
		// The CLI's record (a Pending in ctx): the account, never its key.
		return s.commitAudit(ctx, tx, id, map[string]any{"accountId": id},
			audit.Resource{ARN: s.RootARN(id), AccountID: id, Type: "AWS::IAM::Account"})
	})
	if err != nil {
		return "", "", "", err
	}
	return id, keyID, secret, nil
}

// LookupAccessKey returns the credential of an active access key id. For
// temporary credentials (ASIA...) sessionToken must be the token issued
// with them: a forged token or one of another key is ErrUnknownKey, an
// expired one ErrExpiredToken. Permanent keys refuse a non-empty token.
//
// A cache hit is a map read under a read lock.
func (s *Service) LookupAccessKey(ctx context.Context, keyID, sessionToken string) (*Credential, error) {
	now := s.now()
	s.mu.RLock()
	e, ok := s.creds[keyID]
	s.mu.RUnlock()
	// The token is a secret: compared in constant time.
	if ok && subtle.ConstantTimeCompare([]byte(e.token), []byte(sessionToken)) == 1 && now.Before(e.expires) {
		return e.cred, nil
	}
	if strings.HasPrefix(keyID, "ASIA") {
		return s.openSession(ctx, keyID, sessionToken, now)
	}
	if sessionToken != "" || !accessKeyRE.MatchString(keyID) {
		return nil, ErrUnknownKey
	}
	var k *storage.AccessKey
	var user *storage.Entity
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		if k, err = tx.AccessKey(keyID); err != nil || !k.Active {
			return err
		}
		if name, ok := s.userNameOf(k.Account, k.Principal); ok {
			user, err = tx.Entity(k.Account, storage.EntityUser, name)
		}
		return err
	})
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !k.Active) {
		return nil, ErrUnknownKey
	}
	if err != nil {
		return nil, err
	}
	secret, err := s.root.Unwrap(ctx, k.SecretCiphertext, keyAAD(keyID))
	if err != nil {
		return nil, fmt.Errorf("unseal access key %s: %w", keyID, err)
	}
	p := Principal{Account: k.Account, ARN: k.Principal, KeyID: k.ID}
	switch {
	case k.Principal == s.RootARN(k.Account):
		p.Kind, p.UserID = KindRoot, k.Account
	case user != nil:
		p.Kind, p.Name, p.UserID = KindUser, user.Name, user.ID
	default:
		return nil, ErrUnknownKey // a key of a user that no longer exists
	}
	c := &Credential{Principal: p, secret: string(secret)}
	s.putCred(keyID, credEntry{cred: c, expires: now.Add(CacheTTL)}, now)
	return c, nil
}

// userNameOf returns the user name of a user ARN of account.
func (s *Service) userNameOf(account, arn string) (string, bool) {
	prefix := "arn:" + s.partition + ":iam::" + account + ":user/"
	if !strings.HasPrefix(arn, prefix) {
		return "", false
	}
	return arn[strings.LastIndexByte(arn, '/')+1:], true
}

func (s *Service) putCred(keyID string, e credEntry, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.creds) >= s.nextSweep {
		s.sweepLocked(now)
	}
	s.creds[keyID] = e
}

func (s *Service) putIdentity(k identityKey, e identityEntry, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) >= s.nextSweep {
		s.sweepLocked(now)
	}
	s.ids[k] = e
}

// sweepLocked drops the entries expired at now; s.mu is held.
func (s *Service) sweepLocked(now time.Time) {
	for k, e := range s.creds {
		if !now.Before(e.expires) {
			delete(s.creds, k)
		}
	}
	for k, e := range s.ids {
		if !now.Before(e.expires) {
			delete(s.ids, k)
		}
	}
	s.nextSweep = max(minSweep, 2*max(len(s.creds), len(s.ids)))
}

// forgetKey drops a credential from the cache: called after a key changes.
func (s *Service) forgetKey(keyID string) {
	s.mu.Lock()
	delete(s.creds, keyID)
	s.mu.Unlock()
}

// forgetIdentities drops every cached identity: called after any change of
// IAM data that policies or tags depend on.
func (s *Service) forgetIdentities() {
	s.mu.Lock()
	clear(s.ids)
	s.mu.Unlock()
}

// keyAAD binds a sealed access key secret to its key id.
func keyAAD(keyID string) []byte { return []byte("coffer/iam/access-key/" + keyID) }
