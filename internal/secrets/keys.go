package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/storage"
)

// DefaultKeyID names the AWS-managed key every secret uses unless it names
// another (KmsKeyId absent or empty).
const DefaultKeyID = "alias/aws/secretsmanager"

// keyring hands out key-encryption keys (what a KmsKeyId names), creating each
// on first use, sealed by the root key in the store, and caching them unsealed
// in memory. A KEK's envelope id is "<account>:<region>:<key id>", so a
// ciphertext names the exact key that made it.
type keyring struct {
	store storage.Store
	root  envelope.Wrapper
	now   func() time.Time

	mu   sync.RWMutex
	keks map[string]*envelope.KEK
}

func newKeyring(store storage.Store, root envelope.Wrapper, now func() time.Time) *keyring {
	return &keyring{store: store, root: root, now: now, keks: make(map[string]*envelope.KEK)}
}

func kekID(account, region, keyID string) string {
	if keyID == "" {
		keyID = DefaultKeyID
	}
	return account + ":" + region + ":" + keyID
}

// get returns the KEK with the given envelope id; create allows creating it.
func (k *keyring) get(ctx context.Context, id string, create bool) (*envelope.KEK, error) {
	k.mu.RLock()
	kek, ok := k.keks[id]
	k.mu.RUnlock()
	if ok {
		return kek, nil
	}
	account, rest, ok1 := strings.Cut(id, ":")
	region, keyID, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("malformed key id %q", id)
	}
	aad := []byte("coffer/kek/" + id)
	var rec *storage.Key
	err := k.store.View(ctx, func(tx storage.Tx) error {
		var err error
		rec, err = tx.Key(account, region, keyID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) && create {
		material, err := envelope.NewKey()
		if err != nil {
			return nil, err
		}
		sealed, err := k.root.Wrap(ctx, material, aad)
		if err != nil {
			return nil, fmt.Errorf("seal key %s: %w", id, err)
		}
		rec = &storage.Key{Account: account, Region: region, KeyID: keyID, Material: sealed, Created: k.now().UTC()}
		err = k.store.Update(ctx, func(tx storage.Tx) error {
			err := tx.InsertKey(rec)
			if errors.Is(err, storage.ErrConflict) { // another request created it first
				rec, err = tx.Key(account, region, keyID)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	material, err := k.root.Unwrap(ctx, rec.Material, aad)
	if err != nil {
		return nil, fmt.Errorf("unseal key %s: %w", id, err)
	}
	kek, err = envelope.NewKEK(id, material)
	clear(material)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	if cached, ok := k.keks[id]; ok {
		kek = cached
	} else {
		k.keks[id] = kek
	}
	k.mu.Unlock()
	return kek, nil
}

// valueContext is the additional authenticated data that binds a sealed value
// to its secret, its version and its kind: a ciphertext copied to another
// secret or version, or relabelled between string and binary, fails to open.
func valueContext(arn, versionID string, binary bool) []byte {
	kind := "string"
	if binary {
		kind = "binary"
	}
	return envelope.Context(arn, versionID, kind)
}

// seal encrypts v for (arn, versionID) under the secret's key.
func (k *keyring) seal(ctx context.Context, account, region, keyID, arn, versionID string, v Value) ([]byte, error) {
	kek, err := k.get(ctx, kekID(account, region, keyID), true)
	if err != nil {
		return nil, &Error{Kind: KindEncryptionFailure, Message: msgEncryption}
	}
	ct, err := envelope.Seal(kek, v.Bytes(), valueContext(arn, versionID, v.IsBinary()))
	if err != nil {
		return nil, &Error{Kind: KindEncryptionFailure, Message: msgEncryption}
	}
	return ct, nil
}

// open decrypts a stored version. Any failure, including a ciphertext that was
// moved from another secret or version, is a DecryptionFailure.
func (k *keyring) open(ctx context.Context, arn string, v *storage.Version) (Value, error) {
	fail := &Error{Kind: KindDecryptionFailure, Message: msgDecryption}
	id, err := envelope.KEKID(v.Ciphertext)
	if err != nil {
		return Value{}, fail
	}
	kek, err := k.get(ctx, id, false)
	if err != nil {
		return Value{}, fail
	}
	pt, err := envelope.Open(kek, v.Ciphertext, valueContext(arn, v.VersionID, v.Binary))
	if err != nil {
		return Value{}, fail
	}
	if v.Binary {
		return BinaryValue(pt), nil
	}
	return TextValue(string(pt)), nil
}
