package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// DefaultMaxSkew is the clock skew Secrets Manager accepts (BEHAVIOUR.md §2.2
// step 4).
const DefaultMaxSkew = 5 * time.Minute

const unsignedPayload = "UNSIGNED-PAYLOAD"

// Verifier checks signatures. It caches derived signing keys and is safe for
// concurrent use.
type Verifier struct {
	now     func() time.Time
	maxSkew time.Duration
	keys    keyCache
}

// NewVerifier returns a Verifier that reads the time from now (time.Now if
// nil) and accepts requests dated within maxSkew of it (DefaultMaxSkew if
// maxSkew <= 0).
func NewVerifier(now func() time.Time, maxSkew time.Duration) *Verifier {
	if now == nil {
		now = time.Now
	}
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	v := &Verifier{now: now, maxSkew: maxSkew}
	v.keys.init()
	return v
}

// Verify checks the clock skew of req, then recomputes the signature of r
// with body and secretAccessKey and compares it with the one sent in
// constant time. req must come from Parse(r, ...) and body must be the whole
// request body.
//
// An X-Amz-Content-SHA256 header is honoured as botocore does: its value
// replaces the body hash in the canonical request. UNSIGNED-PAYLOAD is
// accepted; any other value that is not the body's hash fails as a signature
// mismatch, so a signature never covers a body it did not see.
//
// All failures are *Error values with code InvalidSignatureException.
func (v *Verifier) Verify(req *Request, r *http.Request, body []byte, secretAccessKey string) error {
	now := v.now().UTC().Truncate(time.Second)
	if req.Time.Before(now.Add(-v.maxSkew)) {
		return SignatureExpired(req.Time, now, v.maxSkew)
	}
	if req.Time.After(now.Add(v.maxSkew)) {
		return SignatureNotYetCurrent(req.Time, now, v.maxSkew)
	}

	var hashHex [64]byte
	payload := hashHex[:]
	claimed := firstValue(r.Header, "X-Amz-Content-Sha256")
	if claimed != unsignedPayload {
		sum := sha256.Sum256(body)
		hex.Encode(hashHex[:], sum[:])
		if claimed != "" {
			if !equalFoldASCII(claimed, hashHex[:]) {
				return SignatureMismatch()
			}
			payload = append(hashHex[:0], claimed...)
		}
	} else {
		payload = append(hashHex[:0], unsignedPayload...)
	}

	key := v.keys.get(req.AccessKeyID, secretAccessKey, req.Date, req.Region, req.Service)
	path, query := rawTarget(r)

	bp := scratchPool.Get().(*[]byte)
	defer putScratch(bp)
	ok := verifyOnce(bp, req, r, key, path, query, payload, true)
	if !ok && !isNormalPath(path) {
		// aws-sdk-go-v2 signs the path without normalizing it.
		ok = verifyOnce(bp, req, r, key, path, query, payload, false)
	}
	if !ok {
		return SignatureMismatch()
	}
	return nil
}

// verifyOnce builds the canonical request and the string to sign in *bp and
// reports whether the signature they give equals req's.
func verifyOnce(bp *[]byte, req *Request, r *http.Request, key *[32]byte, path, query string, payload []byte, normalize bool) bool {
	b := (*bp)[:0]
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, path, normalize)
	b = append(b, '\n')
	b = appendCanonicalQuery(b, query)
	b = append(b, '\n')
	b = appendCanonicalHeaders(b, r, req.signedHeaders)
	b = append(b, '\n')
	b = append(b, req.signedHeaders...)
	b = append(b, '\n')
	b = append(b, payload...)
	crHash := sha256.Sum256(b)

	// String to sign, behind room for the HMAC inner pad block.
	b = b[:0]
	b = append(b, make([]byte, sha256.BlockSize)...)
	b = append(b, algorithm+"\n"...)
	b = append(b, req.stamp...)
	b = append(b, '\n')
	b = append(b, req.scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, crHash[:])
	mac := hmacPadded(key, b)
	*bp = b

	return subtle.ConstantTimeCompare(mac[:], req.signature[:])&subtle.ConstantTimeByteEq(b2u8(req.signatureOK), 1) == 1
}

// hmacPadded returns HMAC-SHA256(key, msg) where buf is a 64-byte block
// (overwritten) followed by msg. It is crypto/hmac's result without its
// allocations.
func hmacPadded(key *[32]byte, buf []byte) [32]byte {
	pad := buf[:sha256.BlockSize]
	for i := range pad {
		pad[i] = 0x36
	}
	for i, k := range key {
		pad[i] ^= k
	}
	inner := sha256.Sum256(buf)
	var outer [sha256.BlockSize + sha256.Size]byte
	for i := range sha256.BlockSize {
		outer[i] = 0x5c
	}
	for i, k := range key {
		outer[i] ^= k
	}
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// equalFoldASCII compares a hex string with lower-case hex bytes, ignoring
// the case of s.
func equalFoldASCII(s string, lower []byte) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Scratch buffers for canonical requests. Large ones (huge session tokens,
// long queries) are dropped rather than kept alive in the pool.
const maxPooledScratch = 16 << 10

var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

func putScratch(bp *[]byte) {
	if cap(*bp) <= maxPooledScratch {
		scratchPool.Put(bp)
	}
}
