package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// cacheSlots bounds the signing-key cache. Keys change daily, so the cache
// needs room for the keys active in one day, not for every key ever seen.
const cacheSlots = 1024 // a power of two

// keyCache is a fixed-size, direct-mapped, lock-free cache of derived
// signing keys. A slot holds an immutable entry; a miss derives the key and
// replaces whatever the slot held. Readers never block and never allocate.
type keyCache struct {
	seed  maphash.Seed
	slots [cacheSlots]atomic.Pointer[signingKey]
}

// signingKey is kSigning for one (access key id, secret, date, region,
// service). The secret is kept to notice a rotated secret under the same key
// id; it is compared in constant time and never printed.
type signingKey struct {
	accessKeyID, date, region, service string
	secret                             string
	key                                [32]byte
}

func (c *keyCache) init() { c.seed = maphash.MakeSeed() }

// get returns kSigning for the given scope, deriving it on a miss.
func (c *keyCache) get(accessKeyID, secret, date, region, service string) *[32]byte {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(accessKeyID)
	h.WriteByte(0)
	h.WriteString(date)
	h.WriteByte(0)
	h.WriteString(region)
	h.WriteByte(0)
	h.WriteString(service)
	slot := &c.slots[h.Sum64()&(cacheSlots-1)]

	if e := slot.Load(); e != nil && e.accessKeyID == accessKeyID && e.date == date &&
		e.region == region && e.service == service && equalConstantTime(e.secret, secret) {
		return &e.key
	}
	e := &signingKey{
		// Clone: the scope strings point into the Authorization header.
		accessKeyID: strings.Clone(accessKeyID),
		date:        strings.Clone(date),
		region:      strings.Clone(region),
		service:     strings.Clone(service),
		secret:      secret,
		key:         deriveKey(secret, date, region, service),
	}
	slot.Store(e)
	return &e.key
}

// deriveKey computes kSigning (BEHAVIOUR.md §2.2 step 8).
func deriveKey(secret, date, region, service string) [32]byte {
	k := hmacSum([]byte("AWS4"+secret), date)
	k = hmacSum(k[:], region)
	k = hmacSum(k[:], service)
	k = hmacSum(k[:], terminator)
	return k
}

func hmacSum(key []byte, msg string) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// equalConstantTime compares two strings in time that depends only on
// their lengths.
func equalConstantTime(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}
