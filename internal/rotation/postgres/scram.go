package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// scramIterations is PostgreSQL's default scram_iterations (4096, RFC 7677's
// minimum).
const scramIterations = 4096

// scramSaltLen is the salt length PostgreSQL itself uses (SCRAM_DEFAULT_SALT_LEN).
const scramSaltLen = 16

// pbkdf2SHA256 is PBKDF2 (RFC 8018 §5.2) with HMAC-SHA-256 as the PRF.
// pbkdf2.Key fails only for a keyLen out of range or, in FIPS 140-only
// mode, a salt under 16 bytes: neither happens here (scramSaltLen,
// sha256.Size), so a failure is a bug.
func pbkdf2SHA256(password, salt []byte, iter, keyLen int) []byte {
	k, err := pbkdf2.Key(sha256.New, string(password), salt, iter, keyLen)
	if err != nil {
		panic(err) // names the parameter, never the password
	}
	return k
}

func hmacSHA256(key []byte, msg string) []byte {
	var m hash.Hash = hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// scramKeys derives RFC 5802's StoredKey and ServerKey from a password.
func scramKeys(password string, salt []byte, iter int) (storedKey, serverKey []byte) {
	salted := pbkdf2SHA256([]byte(password), salt, iter, sha256.Size)
	clientKey := hmacSHA256(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], hmacSHA256(salted, "Server Key")
}

// errPasswordCharset is returned for passwords this package does not hash:
// PostgreSQL applies SASLprep to non-ASCII passwords before hashing, which
// is not reimplemented here. GetRandomPassword only yields printable ASCII.
var errPasswordCharset = errors.New("postgres rotation: the password must be printable ASCII to be hashed as a SCRAM-SHA-256 verifier")

// scramVerifier returns the verifier PostgreSQL stores in pg_authid for
// password (SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>, base64),
// with a fresh random salt. Sending it instead of the clear password keeps
// the password out of the server's statement log.
func scramVerifier(password string) (string, error) {
	for i := 0; i < len(password); i++ {
		if c := password[i]; c < 0x20 || c > 0x7e {
			return "", errPasswordCharset
		}
	}
	salt := make([]byte, scramSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("postgres rotation: salt: %w", err)
	}
	return formatVerifier(password, salt, scramIterations), nil
}

func formatVerifier(password string, salt []byte, iter int) string {
	stored, server := scramKeys(password, salt, iter)
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, enc(salt), enc(stored), enc(server))
}

// quoteLiteral quotes a verifier as an SQL string literal. A verifier only
// holds [A-Za-z0-9+/=$:-]; anything else is refused rather than escaped, so
// the statement cannot be altered whatever standard_conforming_strings is.
func quoteLiteral(verifier string) (string, error) {
	if strings.IndexFunc(verifier, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+/=$:-", r))
	}) >= 0 {
		return "", errors.New("postgres rotation: malformed SCRAM verifier")
	}
	return "'" + verifier + "'", nil
}
