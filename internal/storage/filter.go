package storage

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// ListSecrets filters.
//
// The meaning of a filter is part of the storage contract because a backend
// must evaluate filters where the secrets are (in its query language, with
// its indexes) rather than load every secret of an account into memory.
// Match is the reference: a backend returns exactly the secrets for which
// MatchFilters is true. Words, QueryWords and IndexWords give every backend
// the same word splitting; PrefixEnd and NormalizeFilters help it build
// range scans and drop filters that are decided without looking at a secret.
//
// The domain (internal/secrets) turns the filters of a request into these
// values and validates them; the rules follow AWS (BEHAVIOUR.md §7).

// FilterKey names what a filter looks at. The values are the AWS key names.
type FilterKey string

// The filter keys.
const (
	// FilterName: the whole name starts with the value (case-sensitive).
	FilterName FilterKey = "name"
	// FilterDescription: every word of the value starts some word of the
	// description (case-insensitive).
	FilterDescription FilterKey = "description"
	// FilterTagKey: some tag key starts with the value (case-sensitive).
	FilterTagKey FilterKey = "tag-key"
	// FilterTagValue: some tag value starts with the value (case-sensitive).
	FilterTagValue FilterKey = "tag-value"
	// FilterPrimaryRegion: the primary region of a replica starts with the
	// value. No stored secret is a replica yet, so no secret matches.
	FilterPrimaryRegion FilterKey = "primary-region"
	// FilterOwningService: the service managing the secret starts with the
	// value. No stored secret is managed by a service yet, so none matches.
	FilterOwningService FilterKey = "owning-service"
	// FilterAll: every word of the value starts some word of the name, the
	// description, a tag key or a tag value (case-insensitive; each word
	// may be found in a different attribute).
	FilterAll FilterKey = "all"
)

// Filter selects secrets by one key: a secret satisfies it when it
// satisfies any of Values. A query's filters are all required (AND), also
// when several have the same key.
type Filter struct {
	Key    FilterKey
	Values []FilterValue
}

// FilterValue is one alternative of a Filter. With Not set it is satisfied
// by exactly the secrets that Value alone does not match; a secret without
// the attribute (no description, no tags) therefore satisfies a negated
// value.
type FilterValue struct {
	Not   bool
	Value string // without the leading "!" of a negation
}

// MatchFilters reports whether s satisfies every filter: the reference
// semantics of SecretQuery.Filters.
func MatchFilters(filters []Filter, s *Secret) bool {
	for _, f := range filters {
		if !f.Match(s) {
			return false
		}
	}
	return true
}

// Match reports whether s satisfies f, that is one of its values.
func (f Filter) Match(s *Secret) bool {
	for _, v := range f.Values {
		if matchValue(f.Key, v.Value, s) != v.Not {
			return true
		}
	}
	return false
}

// matchValue is the match of a value without negation.
func matchValue(key FilterKey, value string, s *Secret) bool {
	switch key {
	case FilterName:
		return strings.HasPrefix(s.Name, value)
	case FilterTagKey:
		return slices.ContainsFunc(s.Tags, func(t Tag) bool { return strings.HasPrefix(t.Key, value) })
	case FilterTagValue:
		return slices.ContainsFunc(s.Tags, func(t Tag) bool { return strings.HasPrefix(t.Value, value) })
	case FilterDescription, FilterAll:
		want := QueryWords(value)
		if len(want) == 0 {
			return false
		}
		var have []string
		for _, w := range IndexWords(s) {
			if key == FilterAll || w.Sources&SourceDescription != 0 {
				have = append(have, w.Word)
			}
		}
		for _, q := range want {
			if !slices.ContainsFunc(have, func(w string) bool { return strings.HasPrefix(w, q) }) {
				return false
			}
		}
		return true
	}
	return false // primary-region, owning-service: nothing has them yet
}

// Word sources: where an indexed word occurs in a secret.
const (
	SourceName        = 1 << iota // the name
	SourceDescription             // the description
	SourceTagKey                  // a tag key
	SourceTagValue                // a tag value
)

// IndexWord is a word a secret can be found under by the description and
// all filters: lower-cased, with the set of attributes it occurs in.
type IndexWord struct {
	Word    string
	Sources int // SourceName | SourceDescription | ...
}

// IndexWords returns the distinct lower-cased words of the name, the
// description, the tag keys and the tag values of s, ordered by word: what
// a backend indexes so that it can answer description and all filters.
func IndexWords(s *Secret) []IndexWord {
	m := map[string]int{}
	add := func(text string, source int) {
		for _, w := range Words(text) {
			m[strings.ToLower(w)] |= source
		}
	}
	add(s.Name, SourceName)
	add(s.Description, SourceDescription)
	for _, t := range s.Tags {
		add(t.Key, SourceTagKey)
		add(t.Value, SourceTagValue)
	}
	out := make([]IndexWord, 0, len(m))
	for w, src := range m {
		out = append(out, IndexWord{Word: w, Sources: src})
	}
	slices.SortFunc(out, func(a, b IndexWord) int { return strings.Compare(a.Word, b.Word) })
	return out
}

// IndexDigest identifies what a secret's filter index rows are made from
// (its name, description and tags): a backend that keeps the digest next to
// the secret rewrites the index rows only when it changes. No tags and an
// empty tag list give the same digest.
func IndexDigest(s *Secret) ([]byte, error) {
	tags := s.Tags
	if len(tags) == 0 {
		tags = nil
	}
	b, err := json.Marshal([]any{s.Name, s.Description, tags})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return sum[:16], nil
}

// QueryWords returns the lower-cased words a description or all value
// requires, without repeats and without a word that is a prefix of another
// one of them (a word starting with "ab" also starts with "a"). A value
// without words matches nothing.
func QueryWords(value string) []string {
	var ws []string
	for _, w := range Words(value) {
		ws = append(ws, strings.ToLower(w))
	}
	slices.Sort(ws)
	ws = slices.Compact(ws)
	// In sorted order a word's extensions follow it directly.
	out := ws[:0]
	for i, w := range ws {
		if i+1 < len(ws) && strings.HasPrefix(ws[i+1], w) {
			continue
		}
		out = append(out, w)
	}
	return out
}

// wordSeparators are the punctuation marks that separate words, but only in
// a string that uses a single one of them.
const wordSeparators = "/_+=.@-"

// Words splits s into words the way AWS's ListSecrets word search does
// (BEHAVIOUR.md §7.2), keeping their case:
//
//   - white space separates words, and so does any character that is not a
//     letter, a digit, a combining mark or one of / _ + = . @ -;
//   - those seven punctuation marks separate words only when s contains a
//     single kind of them ("prod/AppBeta/x"); in a string that mixes kinds
//     ("prod-AppBeta/x") they are part of the word, and a word holding one
//     is not split further;
//   - a change from a lower-case to an upper-case letter starts a word
//     ("AppBeta": "App", "Beta"), and so does the last capital of a run of
//     capitals followed by a lower-case letter ("COMPANYthings": "COMPAN",
//     "Ythings"; "SecretFTag": "Secret", "F", "Tag");
//   - a change between a letter and a digit starts a word ("abc123": "abc",
//     "123").
//
// A string of separators alone ("+") has no words.
func Words(s string) []string {
	kinds := 0
	for _, sep := range wordSeparators {
		if strings.ContainsRune(s, sep) {
			kinds++
		}
	}
	split := kinds == 1 // do the punctuation marks separate words?
	var words []string
	var token []rune
	var punct bool // token holds a punctuation mark (mixed kinds only)
	flush := func() {
		switch {
		case len(token) == 0:
		case punct:
			words = append(words, string(token))
		default:
			words = splitCase(words, token)
		}
		token, punct = token[:0], false
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			token = append(token, r)
		case !split && strings.ContainsRune(wordSeparators, r):
			token = append(token, r)
			punct = true
		default:
			flush()
		}
	}
	flush()
	return words
}

// splitCase appends to words the words of token (letters, digits and marks
// only), split at case and letter/digit changes. A combining mark belongs
// to the character before it.
func splitCase(words []string, token []rune) []string {
	start := 0
	prev := token[0]
	for i := 1; i < len(token); i++ {
		cur := token[i]
		if unicode.IsMark(cur) {
			continue
		}
		var brk bool
		switch {
		case unicode.IsNumber(prev) != unicode.IsNumber(cur):
			brk = true
		case lower(prev) && unicode.IsUpper(cur):
			brk = true
		case unicode.IsUpper(prev) && unicode.IsUpper(cur):
			brk = i+1 < len(token) && lower(token[i+1])
		}
		if brk {
			words = append(words, string(token[start:i]))
			start = i
		}
		prev = cur
	}
	return append(words, string(token[start:]))
}

// lower reports whether r is a letter that is not a capital (lower-case,
// title-case or uncased letters all continue a word).
func lower(r rune) bool { return unicode.IsLetter(r) && !unicode.IsUpper(r) }

// PrefixEnd returns the smallest string greater than every string that
// starts with p in byte order, for a range scan p <= x < end; ok is false
// when there is none (p is empty or all 0xff bytes) and the scan has no
// upper bound.
func PrefixEnd(p string) (end string, ok bool) {
	b := []byte(p)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", false
	}
	b[len(b)-1]++
	return string(b), true
}

// NormalizeFilters simplifies filters for a backend: it drops the values
// that match no secret whatever it holds (a description or all value
// without words, any positive primary-region or owning-service value, a
// negated empty name prefix) and the filters that every secret satisfies
// (one with a value that matches every secret: an empty name prefix, the
// negation of a value that matches nothing). none reports that some filter
// has no value left, so that no secret can match; out is then nil. It
// returns an error for an unknown key.
func NormalizeFilters(filters []Filter) (out []Filter, none bool, err error) {
	for _, f := range filters {
		nf := Filter{Key: f.Key}
		always := false
		for _, v := range f.Values {
			switch constantMatch(f.Key, v.Value) {
			case matchesNothing:
				if v.Not {
					always = true
				}
				continue
			case matchesEverything:
				if !v.Not {
					always = true
				}
				continue
			case matchesUnknown:
				return nil, false, fmt.Errorf("storage: unknown filter key %q", f.Key)
			}
			nf.Values = append(nf.Values, v)
		}
		switch {
		case always:
		case len(nf.Values) == 0:
			return nil, true, nil
		default:
			out = append(out, nf)
		}
	}
	return out, false, nil
}

type constant int

const (
	matchesSome constant = iota
	matchesNothing
	matchesEverything
	matchesUnknown
)

// constantMatch tells whether a (positive) value matches no secret or every
// secret, whatever the secret holds.
func constantMatch(key FilterKey, value string) constant {
	switch key {
	case FilterName:
		if value == "" {
			return matchesEverything
		}
	case FilterTagKey, FilterTagValue:
		// "" matches the secrets with at least one tag.
	case FilterDescription, FilterAll:
		if len(QueryWords(value)) == 0 {
			return matchesNothing
		}
	case FilterPrimaryRegion, FilterOwningService:
		return matchesNothing
	default:
		return matchesUnknown
	}
	return matchesSome
}
