// Package envelope implements coffer's envelope encryption of secret values.
//
// Every secret version is encrypted under its own random 256-bit data key
// (DEK) with AES-256-GCM. The DEK is wrapped by a key-encryption key (KEK, one
// per KMS key id per account and region), and both the DEK wrap and the value
// are bound by additional authenticated data to a caller-supplied context: for
// secret values, Context(secretARN, versionID). A ciphertext copied to another
// secret, another version or another KEK fails to open. KEKs themselves are
// sealed by the root key through the Wrapper interface, which package seal
// implements.
//
// The package is pure: no I/O, no logging, no global state besides
// crypto/rand. It imports only the standard library and golang.org/x/crypto
// (enforced by deps_test.go). It may be imported by internal/secrets,
// internal/iam and internal/seal; nothing above the domain (awsapi, cli) uses
// it directly.
package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
)

// Ciphertext format, version 1. All offsets in bytes; n = len(KEK id).
//
//	offset     size   field
//	0          3      magic "cfe" (coffer envelope)
//	3          1      format version, 0x01
//	4          1      n, length of the KEK id, 1..255
//	5          n      KEK id
//	5+n        12     wrap nonce (random)
//	17+n       48     wrapped DEK: AES-256-GCM_KEK(DEK) = 32 bytes + 16-byte tag
//	65+n       12     value nonce (random)
//	77+n       m+16   AES-256-GCM_DEK(value) = m bytes + 16-byte tag
//
// Bytes [0, 5+n) are the prefix, bytes [0, 77+n) the header. The wrapped DEK
// is sealed with AAD = prefix || context, the value with AAD = header ||
// context. The overhead is 93+n bytes.
//
// Safety argument:
//
//   - Binding. Both AADs end with the caller's context, so a ciphertext opened
//     under any other context (another secret ARN, another version id) fails
//     authentication. The prefix and the header are self-delimiting (fixed
//     sizes and a length-prefixed id), so header || context is an unambiguous
//     encoding of the pair; the context itself must be unambiguous too, which
//     Context guarantees for several fields. The value AAD covers the whole
//     header, so the format version, the KEK id, the wrapped DEK and both
//     nonces are authenticated under the DEK: a header spliced from another
//     ciphertext is rejected even though it would unwrap a valid DEK.
//   - Key identification. The KEK id is authenticated as part of the wrap AAD;
//     editing it fails to open. KEKID reads it without any key, so the caller
//     can fetch the right KEK before opening.
//   - Nonces. Every DEK is fresh from crypto/rand and encrypts exactly one
//     message, so its random 96-bit nonce cannot repeat under that key (a
//     fixed nonce would do; a random one costs 12 bytes and no thought). KEK
//     wraps use random 96-bit nonces under a long-lived key; by NIST SP
//     800-38D §8.3 the probability of a nonce collision stays below 2^-32 for
//     up to 2^32 wraps per KEK. One wrap happens per secret version written,
//     so the bound is far away, but a KEK must be replaced (rotated) before
//     about 2^32 versions have been sealed under it. A nonce collision under a
//     KEK would reveal the XOR of the two DEKs and the GHASH key, allowing
//     forged wraps under that KEK; it would not reveal the KEK itself.
//   - Key sizes. KEK and DEK are 256-bit AES keys; GCM tags are the full 16
//     bytes.
//   - Versioning. A reader refuses any version byte it does not know (ErrFormat)
//     instead of guessing, so a future format (say, a different AEAD) can be
//     introduced by a new version byte while old ciphertexts still open.
//   - Parsing. Every length is bounds-checked before use; arbitrary input
//     yields ErrFormat or ErrOpen, never a panic (FuzzOpen).
//   - Hygiene. The DEK is cleared from memory after use. The expanded AES key
//     schedule inside crypto/aes cannot be cleared from outside and lives
//     until garbage collected.
const (
	// KeySize is the size of KEKs and DEKs in bytes (AES-256).
	KeySize = 32

	version1   = 0x01
	magic      = "cfe"
	nonceSize  = 12
	tagSize    = 16
	wrappedDEK = nonceSize + KeySize + tagSize // wrap nonce + sealed DEK
	maxIDLen   = 255
	fixedLen   = len(magic) + 2                              // magic, version, id length
	overhead   = fixedLen + wrappedDEK + nonceSize + tagSize // plus len(id)
)

// Errors returned by Open and KEKID (possibly wrapped; use errors.Is). They
// never carry key material or plaintext.
var (
	// ErrOpen reports that a ciphertext failed authentication: wrong KEK,
	// wrong context, or a modified ciphertext.
	ErrOpen = errors.New("envelope: message authentication failed")
	// ErrFormat reports a ciphertext that is not in a known format: bad magic,
	// unknown version, or a truncated or malformed header.
	ErrFormat = errors.New("envelope: malformed ciphertext")
)

// Wrapper is a root key: it seals small secrets (KEKs, access key secrets)
// bound to aad. Package seal provides a key-file implementation; passphrase,
// KMS and HSM providers will implement the same interface.
//
// Unwrap returns an error wrapping ErrOpen when the ciphertext does not
// authenticate under this key and aad (including a ciphertext made by another
// root key), and ErrFormat when it is not in a format the provider knows.
// Implementations are safe for concurrent use and honour ctx cancellation.
type Wrapper interface {
	Wrap(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Unwrap(ctx context.Context, ciphertext, aad []byte) ([]byte, error)
}

// NewKey returns a new random 256-bit key from crypto/rand, suitable for
// NewKEK.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("envelope: reading random key: %w", err)
	}
	return k, nil
}

// Context encodes fields as an unambiguous context for Seal and Open: each
// field is preceded by its length as a uvarint, so no two distinct lists of
// fields encode alike. Secret values use Context(secretARN, versionID).
func Context(fields ...string) []byte {
	size := 0
	for _, f := range fields {
		size += binary.MaxVarintLen64 + len(f)
	}
	b := make([]byte, 0, size)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// KEK is a key-encryption key: it wraps the data keys of the values sealed
// under it. It keeps only the AES-GCM instance, never the raw key, and never
// prints its key: fmt (every verb) and slog show only its id. A KEK is safe
// for concurrent use.
type KEK struct {
	id   string
	aead cipher.AEAD
}

// NewKEK returns a KEK with the given id and 32-byte key. The id, 1 to 255
// bytes, is written in clear into every ciphertext header (see KEKID); it
// names the key, it is not secret. NewKEK does not retain key: the caller may
// clear it afterwards.
func NewKEK(id string, key []byte) (*KEK, error) {
	if len(id) == 0 || len(id) > maxIDLen {
		return nil, fmt.Errorf("envelope: KEK id must be 1 to %d bytes, got %d", maxIDLen, len(id))
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &KEK{id: id, aead: aead}, nil
}

// ID returns the id recorded in the ciphertexts this KEK seals.
func (k *KEK) ID() string { return k.id }

// String returns envelope.KEK{id:"..."}; the key is never shown.
func (k KEK) String() string { return fmt.Sprintf("envelope.KEK{id:%q}", k.id) }

// GoString is String, so %#v shows no key either.
func (k KEK) GoString() string { return k.String() }

// Format prints String for every verb (%d or %x on the struct would
// otherwise walk the AES key schedule).
func (k KEK) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue makes slog print String.
func (k KEK) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Seal encrypts plaintext under a fresh data key wrapped by kek, both bound to
// context (for secret values: Context(secretARN, versionID)). The plaintext
// may be empty. The result is in the format described above.
func Seal(kek *KEK, plaintext, context []byte) ([]byte, error) {
	if kek == nil || kek.aead == nil {
		return nil, errors.New("envelope: Seal with a nil KEK")
	}
	n := len(kek.id)
	prefixLen := fixedLen + n
	hdrLen := prefixLen + wrappedDEK + nonceSize
	out := make([]byte, hdrLen, hdrLen+len(plaintext)+tagSize)
	copy(out, magic)
	out[len(magic)] = version1
	out[len(magic)+1] = byte(n)
	copy(out[fixedLen:], kek.id)

	wrapNonce := out[prefixLen : prefixLen+nonceSize]
	valueNonce := out[hdrLen-nonceSize : hdrLen]
	dek := make([]byte, KeySize)
	defer clear(dek)
	for _, b := range [][]byte{wrapNonce, valueNonce, dek} {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("envelope: reading random bytes: %w", err)
		}
	}

	aad := make([]byte, 0, hdrLen+len(context))
	aad = append(append(aad, out[:prefixLen]...), context...)
	// Writes exactly KeySize+tagSize bytes in place, up to the value nonce.
	kek.aead.Seal(out[prefixLen+nonceSize:prefixLen+nonceSize], wrapNonce, dek, aad)

	aead, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	aad = append(append(aad[:0], out[:hdrLen]...), context...)
	return aead.Seal(out, valueNonce, plaintext, aad), nil
}

// KEKID returns the id of the KEK that sealed ciphertext, read from its header
// without any key. It returns ErrFormat when the ciphertext is malformed. The
// id is not authenticated until Open succeeds.
func KEKID(ciphertext []byte) (string, error) {
	prefixLen, err := parse(ciphertext)
	if err != nil {
		return "", err
	}
	return string(ciphertext[fixedLen:prefixLen]), nil
}

// Open authenticates and decrypts a ciphertext made by Seal with the same KEK
// and context. It returns an error wrapping ErrFormat when the ciphertext is
// malformed or of an unknown version, and one wrapping ErrOpen on any
// authentication failure (wrong KEK, wrong context, modified bytes).
func Open(kek *KEK, ciphertext, context []byte) ([]byte, error) {
	prefixLen, err := parse(ciphertext)
	if err != nil {
		return nil, err
	}
	if kek == nil || kek.aead == nil {
		return nil, errors.New("envelope: Open with a nil KEK")
	}
	if id := ciphertext[fixedLen:prefixLen]; string(id) != kek.id {
		return nil, fmt.Errorf("%w: sealed by KEK %q, not %q", ErrOpen, id, kek.id)
	}
	hdrLen := prefixLen + wrappedDEK + nonceSize

	aad := make([]byte, 0, hdrLen+len(context))
	aad = append(append(aad, ciphertext[:prefixLen]...), context...)
	wrapNonce := ciphertext[prefixLen : prefixLen+nonceSize]
	dek, err := kek.aead.Open(nil, wrapNonce, ciphertext[prefixLen+nonceSize:hdrLen-nonceSize], aad)
	if err != nil {
		return nil, ErrOpen
	}
	defer clear(dek)

	aead, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	aad = append(append(aad[:0], ciphertext[:hdrLen]...), context...)
	plaintext, err := aead.Open(nil, ciphertext[hdrLen-nonceSize:hdrLen], ciphertext[hdrLen:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	if plaintext == nil {
		plaintext = []byte{} // empty values open to an empty, non-nil slice
	}
	return plaintext, nil
}

// parse checks the structure of a ciphertext and returns the length of its
// prefix (magic, version, id length, id). Every later offset is within bounds
// once parse succeeds: len(c) >= prefixLen + wrappedDEK + nonceSize + tagSize.
func parse(c []byte) (prefixLen int, err error) {
	if len(c) < fixedLen || string(c[:len(magic)]) != magic {
		return 0, fmt.Errorf("%w: not an envelope ciphertext", ErrFormat)
	}
	if v := c[len(magic)]; v != version1 {
		return 0, fmt.Errorf("%w: unknown format version %d", ErrFormat, v)
	}
	n := int(c[len(magic)+1])
	if n == 0 {
		return 0, fmt.Errorf("%w: empty KEK id", ErrFormat)
	}
	if len(c) < overhead+n {
		return 0, fmt.Errorf("%w: truncated (%d bytes, need at least %d)", ErrFormat, len(c), overhead+n)
	}
	return fixedLen + n, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("envelope: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return aead, nil
}
