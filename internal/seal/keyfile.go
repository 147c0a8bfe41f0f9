package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/coffer-dev/coffer/internal/envelope"
)

// Key file format: the 32-byte root key as 64 hex digits (lower or upper
// case) followed by an optional newline; surrounding white space is ignored.
// Hex rather than raw bytes so the key can be backed up, printed on paper or
// pasted into a secret store without mangling. The file must be a regular
// file with no permission bits for group or others (0600 or 0400).
//
// Wrapped format, version 1:
//
//	offset  size  field
//	0       3     magic "cfk" (coffer key file)
//	3       1     format version, 0x01
//	4       8     root key id: SHA-256("coffer seal key id v1\x00" || key)[:8]
//	12      12    nonce (random)
//	24      m+16  AES-256-GCM(plaintext) = m bytes + 16-byte tag
//
// The AAD is the 24 header bytes followed by the caller's aad; the header has
// a fixed size, so the concatenation is unambiguous. The key id lets Unwrap
// tell "sealed by another root key" (a wrong or replaced key file) apart from
// tampering; 64 bits of a hash of a 256-bit random key reveal nothing useful
// about it. Nonces are random 96-bit values: safe for up to 2^32 wraps per
// root key (NIST SP 800-38D §8.3), and a root key wraps only KEKs and access
// key secrets, a few per account.
const (
	keyFileMagic   = "cfk"
	keyFileVersion = 0x01
	keyIDSize      = 8
	nonceSize      = 12
	tagSize        = 16
	headerSize     = len(keyFileMagic) + 1 + keyIDSize + nonceSize
	hexKeySize     = 2 * envelope.KeySize
	maxKeyFileSize = 1024 // a valid file is 64 hex digits and white space
)

// KeyFile is a root key kept in a file. It holds only the AES-GCM instance and
// the key id, never the raw key, and prints as seal.KeyFile{path:..., id:...}.
// A KeyFile is safe for concurrent use.
type KeyFile struct {
	path    string
	id      [keyIDSize]byte
	aead    cipher.AEAD
	created bool
}

var _ envelope.Wrapper = (*KeyFile)(nil)

// OpenKeyFile loads the root key from path. When the file does not exist it
// creates one with a new random key: the parent directory with mode 0700 if
// missing, the file with O_EXCL and mode 0600, synced to disk (file and
// directory) before OpenKeyFile returns, since data sealed under the key is
// lost if the key is. OpenKeyFile refuses a file that group or others may
// access, that is not a regular file, or that does not hold exactly 64 hex
// digits; the errors name the path and the fix, never the file's content.
func OpenKeyFile(path string) (*KeyFile, error) {
	if path == "" {
		return nil, errors.New("seal: empty key file path")
	}
	created := false
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		err = createKeyFile(path)
		if errors.Is(err, fs.ErrExist) {
			err = nil // another process created it first; use theirs
		} else if err == nil {
			created = true
		}
		if err == nil {
			f, err = os.Open(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	defer f.Close()

	key, err := readKey(f, path)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return newKeyFile(path, key, created)
}

func newKeyFile(path string, key []byte, created bool) (*KeyFile, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	k := &KeyFile{path: path, aead: aead, created: created}
	h := sha256.New()
	h.Write([]byte("coffer seal key id v1\x00"))
	h.Write(key)
	copy(k.id[:], h.Sum(nil))
	return k, nil
}

// readKey checks the opened file and parses the key from it. Checking the
// open descriptor, not the path, leaves no window between check and use.
func readKey(f *os.File, path string) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: key file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	// Windows has no Unix permission bits; Go reports 0666 for every
	// writable file there. ACLs are the operator's business on Windows.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("seal: key file %s has mode %04o, so other users can access the root key; "+
			"make it private to its owner with: chmod 600 %s", path, perm, path)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	defer clear(buf)
	if err != nil {
		return nil, fmt.Errorf("seal: key file %s: %w", path, err)
	}
	if len(buf) > maxKeyFileSize {
		return nil, fmt.Errorf("seal: key file %s does not hold a root key: it is larger than %d bytes, want %d hex digits",
			path, maxKeyFileSize, hexKeySize)
	}
	digits := bytes.TrimSpace(buf)
	if len(digits) != hexKeySize {
		return nil, fmt.Errorf("seal: key file %s does not hold a root key: want %d hex digits (%d bytes), found %d non-space bytes",
			path, hexKeySize, envelope.KeySize, len(digits))
	}
	key := make([]byte, envelope.KeySize)
	// Not hex.Decode's error: it would quote a character of the key.
	if _, err := hex.Decode(key, digits); err != nil {
		clear(key)
		return nil, fmt.Errorf("seal: key file %s does not hold a root key: it has a character that is not a hex digit", path)
	}
	return key, nil
}

// createKeyFile writes a new random key to path, failing with an error that
// wraps fs.ErrExist if the file exists. A partly written file is removed.
func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := envelope.NewKey()
	if err != nil {
		return err
	}
	defer clear(key)
	buf := make([]byte, hexKeySize+1)
	defer clear(buf)
	hex.Encode(buf, key)
	buf[hexKeySize] = '\n'

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("creating %s: %w", path, err)
	}
	return nil
}

// syncDir makes the new directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Path returns the file the key was loaded from.
func (k *KeyFile) Path() string { return k.path }

// ID returns the root key id (16 hex digits), recorded in every wrapped
// ciphertext. It identifies the key without revealing it, e.g. in logs.
func (k *KeyFile) ID() string { return hex.EncodeToString(k.id[:]) }

// Created reports whether OpenKeyFile created the file, i.e. this is a new
// root key that the operator should back up.
func (k *KeyFile) Created() bool { return k.created }

// String returns seal.KeyFile{path:"...", id:"..."}; the key is never shown.
func (k KeyFile) String() string {
	return fmt.Sprintf("seal.KeyFile{path:%q, id:%q}", k.path, hex.EncodeToString(k.id[:]))
}

// GoString is String, so %#v shows no key either.
func (k KeyFile) GoString() string { return k.String() }

// Format prints String for every verb.
func (k KeyFile) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue makes slog print String.
func (k KeyFile) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Wrap seals plaintext under the root key, bound to aad, in the format
// described above.
func (k *KeyFile) Wrap(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("seal: wrap: %w", err)
	}
	out := make([]byte, headerSize, headerSize+len(plaintext)+tagSize)
	copy(out, keyFileMagic)
	out[len(keyFileMagic)] = keyFileVersion
	copy(out[len(keyFileMagic)+1:], k.id[:])
	nonce := out[headerSize-nonceSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: reading random nonce: %w", err)
	}
	return k.aead.Seal(out, nonce, plaintext, joinAAD(out[:headerSize], aad)), nil
}

// Unwrap opens a ciphertext made by Wrap with the same root key and aad. Its
// errors wrap envelope.ErrFormat for input that is not a key-file ciphertext
// and envelope.ErrOpen for one made by another root key or that fails
// authentication (wrong aad, modified bytes).
func (k *KeyFile) Unwrap(ctx context.Context, ciphertext, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("seal: unwrap: %w", err)
	}
	if len(ciphertext) < len(keyFileMagic)+1 || string(ciphertext[:len(keyFileMagic)]) != keyFileMagic {
		return nil, fmt.Errorf("%w: not sealed by a key file", envelope.ErrFormat)
	}
	if v := ciphertext[len(keyFileMagic)]; v != keyFileVersion {
		return nil, fmt.Errorf("%w: unknown key file format version %d", envelope.ErrFormat, v)
	}
	if len(ciphertext) < headerSize+tagSize {
		return nil, fmt.Errorf("%w: truncated key file ciphertext", envelope.ErrFormat)
	}
	if id := ciphertext[len(keyFileMagic)+1 : len(keyFileMagic)+1+keyIDSize]; !bytes.Equal(id, k.id[:]) {
		return nil, fmt.Errorf("%w: sealed by root key %x, but key file %s holds root key %x",
			envelope.ErrOpen, id, k.path, k.id)
	}
	hdr := ciphertext[:headerSize]
	plaintext, err := k.aead.Open(nil, hdr[headerSize-nonceSize:], ciphertext[headerSize:], joinAAD(hdr, aad))
	if err != nil {
		return nil, fmt.Errorf("%w: root key %x", envelope.ErrOpen, k.id)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

func joinAAD(header, aad []byte) []byte {
	b := make([]byte, 0, len(header)+len(aad))
	return append(append(b, header...), aad...)
}
