package secrets

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// GetRandomPassword (BEHAVIOUR.md §9). The character sets are AWS's: the 26
// lowercase and 26 uppercase ASCII letters, the 10 digits, the 32 printable
// ASCII punctuation characters of the model's ExcludePunctuation text, and
// the space when IncludeSpace is set.
//
// Decisions for docs/COMPATIBILITY.md (BEHAVIOUR.md marks them [OPEN] or
// [EMU]; the texts below were observed through CloudFormation's
// GenerateSecretString, which uses the same generator, and in moto):
//
//   - RequireEachIncludedType requires the four classes that are not switched
//     off (lowercase, uppercase, digits, punctuation). The space is never
//     required, only admitted: the model says IncludeSpace means "the
//     password can contain space characters", and the RequireEachIncludedType
//     text lists only "upper and lowercase letter, one number, and one
//     punctuation". (moto forces a space; we do not.)
//   - A required class that ExcludeCharacters empties is refused with
//     InvalidParameterException "All characters of the desired type have
//     been excluded." With RequireEachIncludedType=false the class simply
//     contributes nothing.
//   - A pool with no character at all is refused with
//     InvalidParameterException "All characters have been excluded from
//     selection."
//   - A length below the number of required classes is refused with
//     InvalidParameterException "Password length is too short based on the
//     required types."
//   - The checks run in that order. The final full stops of the first two
//     texts are our choice (AWS's punctuation was not recorded).
//   - ExcludeCharacters applies to every class and to the space; characters
//     in it that are in no class are ignored.
//   - Each required class gets one character at a position chosen uniformly
//     at random; every other position is drawn uniformly from the whole
//     pool. All draws use crypto/rand with rejection sampling (no modulo
//     bias).
const (
	lowercaseChars   = "abcdefghijklmnopqrstuvwxyz"
	uppercaseChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digitChars       = "0123456789"
	punctuationChars = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

	// DefaultPasswordLength is the length GetRandomPassword uses when none
	// is given.
	DefaultPasswordLength = 32
	// MaxPasswordLength is the model's maximum PasswordLength.
	MaxPasswordLength = 4096
	// maxExcludeCharacters is the model's maximum ExcludeCharacters length.
	maxExcludeCharacters = 4096
)

// Messages of GetRandomPassword's refusals (see the decisions above).
const (
	msgTypeExcluded     = "All characters of the desired type have been excluded."
	msgAllExcluded      = "All characters have been excluded from selection."
	msgPasswordTooShort = "Password length is too short based on the required types."
)

// PasswordInput holds the parameters of GetRandomPassword. The zero value
// asks for AWS's defaults: 32 characters from all four classes, at least one
// of each.
type PasswordInput struct {
	// Length is the password length, 1 to 4096; 0 means 32.
	Length int64
	// ExcludeCharacters lists characters that must not appear.
	ExcludeCharacters string

	ExcludeNumbers     bool
	ExcludePunctuation bool
	ExcludeUppercase   bool
	ExcludeLowercase   bool
	IncludeSpace       bool

	// RequireEachIncludedType asks for at least one character of every
	// included class (not the space); nil means true.
	RequireEachIncludedType *bool
}

// GetRandomPassword generates a random password for the caller. It touches
// no secret and no storage; it is a Service method so that authorization
// (secretsmanager:GetRandomPassword on resource "*") and audit apply to it
// like to every other operation. The result is secret: it
// must never be logged.
func (s *Service) GetRandomPassword(ctx context.Context, c Caller, in PasswordInput) (string, error) {
	if err := s.authorize(c, access{action: actGetRandomPassword, id: "*"}, nil, "*"); err != nil {
		return "", err
	}
	return RandomPassword(in)
}

// RandomPassword generates a password as AWS Secrets Manager's
// GetRandomPassword does. Errors are *Error values: KindValidation for a
// length or ExcludeCharacters outside the model's bounds (the wire layer
// checks those first), KindInvalidParameter for impossible combinations.
func RandomPassword(in PasswordInput) (string, error) {
	length := in.Length
	switch {
	case length == 0:
		length = DefaultPasswordLength
	case length < 1:
		return "", validationf("Value '%d' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1", length)
	case length > MaxPasswordLength:
		return "", validationf("Value '%d' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096", length)
	}
	if utf8.RuneCountInString(in.ExcludeCharacters) > maxExcludeCharacters {
		// The value is not quoted: it may be long, and it is the caller's.
		return "", validationf("Value at 'excludeCharacters' failed to satisfy constraint: Member must have length less than or equal to 4096")
	}
	requireEach := in.RequireEachIncludedType == nil || *in.RequireEachIncludedType

	strip := func(set string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(in.ExcludeCharacters, r) {
				return -1
			}
			return r
		}, set)
	}
	var classes []string // included classes after ExcludeCharacters, in AWS's doc order
	for _, c := range []struct {
		chars    string
		excluded bool
	}{
		{lowercaseChars, in.ExcludeLowercase},
		{uppercaseChars, in.ExcludeUppercase},
		{digitChars, in.ExcludeNumbers},
		{punctuationChars, in.ExcludePunctuation},
	} {
		if c.excluded {
			continue
		}
		chars := strip(c.chars)
		if chars == "" {
			if requireEach {
				return "", &Error{Kind: KindInvalidParameter, Message: msgTypeExcluded}
			}
			continue
		}
		classes = append(classes, chars)
	}
	pool := strings.Join(classes, "")
	if in.IncludeSpace {
		pool += strip(" ")
	}
	if pool == "" {
		return "", &Error{Kind: KindInvalidParameter, Message: msgAllExcluded}
	}
	var required []string
	if requireEach {
		required = classes
	}
	if int64(len(required)) > length {
		return "", &Error{Kind: KindInvalidParameter, Message: msgPasswordTooShort}
	}
	return generate(int(length), pool, required), nil
}

// generate draws n characters uniformly from pool, then puts one character
// of each required class at distinct positions chosen uniformly at random.
// Every set is ASCII, so bytes are characters.
func generate(n int, pool string, required []string) string {
	src := newRandSource()
	defer src.clear()
	out := make([]byte, n)
	for i := range out {
		out[i] = pool[src.intn(len(pool))]
	}
	// A partial Fisher-Yates shuffle of the positions picks len(required)
	// distinct ones, each subset equally likely.
	pos := make([]int, n)
	for i := range pos {
		pos[i] = i
	}
	for k, class := range required {
		j := k + src.intn(n-k)
		pos[k], pos[j] = pos[j], pos[k]
		out[pos[k]] = class[src.intn(len(class))]
	}
	p := string(out)
	clear(out)
	return p
}

// randSource draws uniform integers from crypto/rand, reading it in blocks.
type randSource struct {
	buf [256]byte
	off int // bytes of buf already used
}

func newRandSource() *randSource {
	s := &randSource{}
	s.off = len(s.buf)
	return s
}

// clear wipes the unused random bytes, from which the password's characters
// were derived.
func (s *randSource) clear() { clear(s.buf[:]) }

// intn returns a uniform integer in [0, n), 1 <= n <= 65536, by rejection
// sampling 16-bit draws: values at or above the largest multiple of n below
// 65536 are thrown away, so every result is exactly equally likely.
func (s *randSource) intn(n int) int {
	limit := 65536 - 65536%uint32(n)
	for {
		if s.off+2 > len(s.buf) {
			_, _ = rand.Read(s.buf[:]) // never returns an error since Go 1.24
			s.off = 0
		}
		v := uint32(binary.LittleEndian.Uint16(s.buf[s.off:]))
		s.off += 2
		if v < limit {
			return int(v % uint32(n))
		}
	}
}

func validationf(format string, args ...any) *Error {
	e := errorf(KindValidation, format, args...)
	e.Message = "1 validation error detected: " + e.Message
	return e
}
