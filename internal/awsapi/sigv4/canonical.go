package sigv4

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// This file rebuilds the canonical request of SigV4 step 1 from what arrived
// on the wire. Every function appends to a caller-owned buffer so the hot
// path (POST / with no query) does not allocate.

// rawTarget returns the request path and query exactly as the client sent
// them: the request line of a server request, else the URL.
func rawTarget(r *http.Request) (path, query string) {
	if u := r.RequestURI; u != "" && u[0] == '/' {
		path, query, _ = strings.Cut(u, "?")
		return path, query
	}
	if r.URL == nil {
		return "/", ""
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// appendCanonicalURI appends the canonical URI of the raw (as-sent) path.
// Each byte that is not an RFC 3986 unreserved character or "/" is
// percent-encoded; since the raw path is already percent-encoded once, this
// is AWS's "double encoding" for every service but S3. With normalize, dot
// segments and empty segments are removed first (RFC 3986 §5.2.4, plus
// AWS's collapsing of repeated slashes), as botocore and the AWS test suite
// do; without it the path is used as is, as aws-sdk-go-v2 signs it.
func appendCanonicalURI(b []byte, path string, normalize bool) []byte {
	if path == "" || path == "/" {
		return append(b, '/')
	}
	if !normalize {
		return appendEscaped(b, path, true)
	}
	type span struct{ lo, hi int }
	var stack [32]span
	segs := stack[:0]
	trailing := false
	for i := 0; i < len(path); {
		if path[i] == '/' {
			i++
			continue
		}
		j := strings.IndexByte(path[i:], '/')
		if j < 0 {
			j = len(path)
		} else {
			j += i
		}
		switch seg := path[i:j]; seg {
		case ".":
			trailing = true
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
			trailing = true
		default:
			segs = append(segs, span{i, j})
			trailing = false
		}
		i = j
	}
	if path[len(path)-1] == '/' {
		trailing = true
	}
	if len(segs) == 0 {
		return append(b, '/')
	}
	for _, s := range segs {
		b = append(b, '/')
		b = appendEscaped(b, path[s.lo:s.hi], false)
	}
	if trailing {
		b = append(b, '/')
	}
	return b
}

// isNormalPath reports whether normalizing path would leave it unchanged,
// that is whether it has no empty, "." or ".." segments.
func isNormalPath(path string) bool {
	if path == "" || path == "/" {
		return true
	}
	if path[0] != '/' {
		return false
	}
	for i := 1; i <= len(path); {
		j := strings.IndexByte(path[i:], '/')
		if j < 0 {
			j = len(path)
		} else {
			j += i
		}
		seg := path[i:j]
		if seg == "." || seg == ".." || (seg == "" && j != len(path)) {
			return false
		}
		i = j + 1
	}
	return true
}

// appendCanonicalQuery appends the canonical query string of a raw query:
// every name and value percent-decoded ("+" is a space, as in
// application/x-www-form-urlencoded), re-encoded with only RFC 3986
// unreserved characters left bare, sorted by encoded name then value, and
// joined with "&". A name without "=" gets an empty value.
func appendCanonicalQuery(b []byte, raw string) []byte {
	if raw == "" {
		return b
	}
	type pair struct{ k, v string }
	var pairs []pair
	for raw != "" {
		var p string
		p, raw, _ = strings.Cut(raw, "&")
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		pairs = append(pairs, pair{encodeQueryPart(k), encodeQueryPart(v)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}

// encodeQueryPart decodes one raw query name or value and encodes it again
// canonically. A malformed escape is kept literally (its "%" encoded).
func encodeQueryPart(s string) string {
	dec := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			dec = append(dec, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			dec = append(dec, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dec = append(dec, c)
		}
	}
	return string(appendEscaped(make([]byte, 0, len(dec)*3), string(dec), false))
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

const upperHex = "0123456789ABCDEF"

// appendEscaped percent-encodes every byte of s that is not an RFC 3986
// unreserved character (and not "/" when keepSlash is set).
func appendEscaped(b []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendCanonicalHeaders appends one "name:value\n" line per name of the
// client's SignedHeaders list, in the client's order (SDKs send it sorted).
// host is the request's Host (with its port, as the client signed it);
// repeated headers are joined with "," in arrival order.
func appendCanonicalHeaders(b []byte, r *http.Request, signed string) []byte {
	for rest := signed; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		b = append(b, name...)
		b = append(b, ':')
		if strings.EqualFold(name, "host") || name == ":authority" {
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			b = appendHeaderValue(b, host)
		} else if vals := headerValues(r.Header, name); vals != nil {
			for i, v := range vals {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendHeaderValue(b, v)
			}
		} else if strings.EqualFold(name, "content-length") && r.ContentLength > 0 {
			// A server may keep the length only in r.ContentLength.
			b = strconv.AppendInt(b, r.ContentLength, 10)
		}
		b = append(b, '\n')
	}
	return b
}

// appendHeaderValue appends v with leading and trailing white space removed
// and each inner run of spaces collapsed to one.
func appendHeaderValue(b []byte, v string) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	for {
		i := strings.Index(v, "  ")
		if i < 0 {
			return append(b, v...)
		}
		b = append(b, v[:i+1]...)
		v = v[i+2:]
		for len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
	}
}

// headerValues returns the values of the header whose lower-case name is
// given, without allocating for the usual canonical map keys.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) <= len(buf) {
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			} else if !upper && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
			upper = c == '-'
		}
		if v, ok := h[string(buf[:len(name)])]; ok {
			return v
		}
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}
