// Package iam keeps coffer's identities: accounts, their principals and the
// SigV4 access keys that authenticate them.
//
// Access key secrets are needed in clear to verify HMAC signatures, so they are
// stored sealed by the root key (never hashed, never in clear) and kept
// unsealed only in this package's in-memory cache.
//
// Imported by internal/server (wiring), internal/awsapi (to resolve the key of
// a signed request) and internal/secrets (principal types). It must not import
// net/http, internal/awsapi or any storage driver.
package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/storage"
)

// ErrUnknownKey reports an access key id that does not exist or is inactive.
var ErrUnknownKey = errors.New("iam: unknown access key")

// Principal is an authenticated caller.
type Principal struct {
	Account string // 12-digit account id
	ARN     string // e.g. arn:aws:iam::123456789012:root
	KeyID   string // access key id that signed the request
}

// Credential is an access key with its secret in clear. It never prints the
// secret.
type Credential struct {
	Principal Principal
	secret    string
}

// Secret returns the secret access key, for signature verification only.
func (c *Credential) Secret() string { return c.secret }

// String implements fmt.Stringer without the secret.
func (c *Credential) String() string { return "iam.Credential{" + c.Principal.KeyID + " REDACTED}" }

// GoString implements fmt.GoStringer without the secret.
func (c *Credential) GoString() string { return c.String() }

// Service manages accounts and access keys.
type Service struct {
	store     storage.Store
	root      envelope.Wrapper
	partition string
	now       func() time.Time

	mu    sync.RWMutex
	cache map[string]*Credential
}

// New returns a Service over store; root seals access key secrets.
func New(store storage.Store, root envelope.Wrapper, partition string, now func() time.Time) *Service {
	return &Service{store: store, root: root, partition: partition, now: now, cache: make(map[string]*Credential)}
}

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

// NewRootKey generates an access key pair in AWS's shapes: a 20-character
// AKIA... id and a 40-character secret.
func NewRootKey() (id, secret string) {
	const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
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
// access keys with the given secret. It reports whether anything was created.
// A key id that exists with another secret or another account is an error.
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
		return tx.InsertAccessKey(&storage.AccessKey{
			ID: keyID, Account: account, Principal: s.RootARN(account),
			SecretCiphertext: sealed, Active: true, Created: now,
		})
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

// LookupAccessKey returns the active credential for an access key id, or
// ErrUnknownKey.
func (s *Service) LookupAccessKey(ctx context.Context, keyID string) (*Credential, error) {
	s.mu.RLock()
	c, ok := s.cache[keyID]
	s.mu.RUnlock()
	if ok {
		return c, nil
	}
	if !accessKeyRE.MatchString(keyID) {
		return nil, ErrUnknownKey
	}
	var k *storage.AccessKey
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		k, err = tx.AccessKey(keyID)
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
	c = &Credential{Principal: Principal{Account: k.Account, ARN: k.Principal, KeyID: k.ID}, secret: string(secret)}
	s.mu.Lock()
	s.cache[keyID] = c
	s.mu.Unlock()
	return c, nil
}

// keyAAD binds a sealed access key secret to its key id.
func keyAAD(keyID string) []byte { return []byte("coffer/iam/access-key/" + keyID) }
