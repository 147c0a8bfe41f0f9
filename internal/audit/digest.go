package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// digestDomain prefixes every signed digest message.
const digestDomain = "coffer-audit-digest-v1"

// DigestMessage returns the bytes a digest signs: "coffer-audit-digest-v1"
// || seq (8 bytes, big endian) || hash || time (Unix milliseconds, 8 bytes,
// big endian; stores keep milliseconds).
func DigestMessage(seq int64, hash []byte, at time.Time) []byte {
	msg := make([]byte, 0, len(digestDomain)+8+len(hash)+8)
	msg = append(msg, digestDomain...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(seq))
	msg = append(msg, hash...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(at.UnixMilli()))
	return msg
}

// KeyID names a public audit key: "audit-" and the first 8 bytes of its
// SHA-256 in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "audit-" + hex.EncodeToString(sum[:8])
}

// Signer writes signed digests of the trail's head.
type Signer struct {
	store storage.Store
	key   ed25519.PrivateKey
	keyID string
	now   func() time.Time

	mu   sync.Mutex
	last int64 // Seq of the last digest known, -1 before the first look
}

// NewSigner returns a Signer that signs with key. now nil: time.Now.
func NewSigner(store storage.Store, key ed25519.PrivateKey, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	return &Signer{store: store, key: key, keyID: KeyID(key.Public().(ed25519.PublicKey)), now: now, last: -1}
}

// KeyID returns the id of the signing key.
func (s *Signer) KeyID() string { return s.keyID }

// Digest signs the head of the trail when it moved since the last digest
// and stores the digest. It returns the digest written, nil when the head
// had not moved (or another node wrote the same digest).
func (s *Signer) Digest(ctx context.Context) (*storage.AuditDigest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out *storage.AuditDigest
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		out = nil
		if s.last < 0 {
			ds, err := tx.AuditDigests()
			if err != nil {
				return err
			}
			s.last = 0
			if len(ds) > 0 {
				s.last = ds[len(ds)-1].Seq
			}
		}
		seq, hash, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if seq == 0 || seq <= s.last {
			return nil
		}
		at := s.now().UTC().Truncate(time.Millisecond)
		d := &storage.AuditDigest{
			Seq:       seq,
			Hash:      hash,
			Time:      at,
			KeyID:     s.keyID,
			Signature: ed25519.Sign(s.key, DigestMessage(seq, hash, at)),
		}
		if err := tx.InsertAuditDigest(d); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return nil
			}
			return err
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: writing a digest: %w", err)
	}
	if out != nil {
		s.last = out.Seq
	}
	return out, nil
}

// Run writes a digest every interval (default one minute) until ctx ends,
// reporting failures to onErr (may be nil).
func (s *Signer) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	if interval <= 0 {
		interval = time.Minute
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.Digest(ctx); err != nil && onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
