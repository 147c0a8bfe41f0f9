package policy

import "strings"

// An address of IpAddress/NotIpAddress (parsed here rather than with
// net/netip: the layer rules keep this package away from net/...).
type ipAddr struct {
	b  [16]byte // IPv4 in the first 4 bytes
	v4 bool
}

type ipPrefix struct {
	addr  ipAddr
	bits  int
	valid bool
}

func (p ipPrefix) contains(a ipAddr) bool {
	if !p.valid || a.v4 != p.addr.v4 {
		return false
	}
	n := p.bits
	for i := 0; n > 0; i++ {
		m := byte(0xff)
		if n < 8 {
			m = byte(0xff << (8 - n))
		}
		if a.b[i]&m != p.addr.b[i]&m {
			return false
		}
		n -= 8
	}
	return true
}

// parsePrefix parses a CIDR block or a single address (a /32 or /128).
func parsePrefix(s string) (ipPrefix, bool) {
	addr, bitsText, hasBits := strings.Cut(s, "/")
	a, ok := parseAddr(addr)
	if !ok {
		return ipPrefix{}, false
	}
	max := 128
	if a.v4 {
		max = 32
	}
	bits := max
	if hasBits {
		n, ok := atoi(bitsText)
		if !ok || n > int64(max) || (len(bitsText) > 1 && bitsText[0] == '0') {
			return ipPrefix{}, false
		}
		bits = int(n)
		if a.v4 && strings.Contains(addr, ":") {
			bits -= 96 // an IPv4-mapped IPv6 block
			if bits < 0 {
				return ipPrefix{}, false
			}
		}
	}
	return ipPrefix{addr: a, bits: bits, valid: true}, true
}

// parseAddr parses an IPv4 or IPv6 address (no zone); an IPv4-mapped IPv6
// address is taken as its IPv4 address.
func parseAddr(s string) (ipAddr, bool) {
	var a ipAddr
	if strings.IndexByte(s, ':') < 0 {
		if !parseV4(s, a.b[:4]) {
			return a, false
		}
		a.v4 = true
		return a, true
	}
	if !parseV6(s, &a.b) {
		return a, false
	}
	mapped := a.b[10] == 0xff && a.b[11] == 0xff
	for i := 0; i < 10; i++ {
		mapped = mapped && a.b[i] == 0
	}
	if mapped {
		copy(a.b[:4], a.b[12:])
		for i := 4; i < 16; i++ {
			a.b[i] = 0
		}
		a.v4 = true
	}
	return a, true
}

func parseV4(s string, out []byte) bool {
	for i := 0; i < 4; i++ {
		if i > 0 {
			if s == "" || s[0] != '.' {
				return false
			}
			s = s[1:]
		}
		j := 0
		n := 0
		for j < len(s) && j < 4 && s[j] >= '0' && s[j] <= '9' {
			n = n*10 + int(s[j]-'0')
			j++
		}
		if j == 0 || j > 3 || n > 255 || (j > 1 && s[0] == '0') {
			return false
		}
		out[i] = byte(n)
		s = s[j:]
	}
	return s == ""
}

func parseV6(s string, out *[16]byte) bool {
	ellipsis := -1
	i := 0
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if s == "" {
			return true
		}
	}
	for i < 16 {
		// an embedded IPv4 tail
		if strings.IndexByte(s, '.') >= 0 && strings.IndexByte(s, ':') < 0 {
			if i > 12 || !parseV4(s, out[i:i+4]) {
				return false
			}
			i += 4
			s = ""
			break
		}
		n, j := 0, 0
		for j < len(s) && j < 5 {
			c := s[j]
			var d int
			switch {
			case '0' <= c && c <= '9':
				d = int(c - '0')
			case 'a' <= c && c <= 'f':
				d = int(c-'a') + 10
			case 'A' <= c && c <= 'F':
				d = int(c-'A') + 10
			default:
				goto done
			}
			n = n<<4 | d
			j++
		}
	done:
		if j == 0 || j > 4 {
			return false
		}
		out[i], out[i+1] = byte(n>>8), byte(n)
		i += 2
		s = s[j:]
		if s == "" {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return false
			}
			ellipsis = i
			s = s[1:]
			if s == "" {
				break
			}
		}
	}
	if s != "" {
		return false
	}
	if i < 16 {
		if ellipsis < 0 {
			return false
		}
		n := 16 - i
		copy(out[ellipsis+n:], out[ellipsis:i])
		for k := ellipsis; k < ellipsis+n; k++ {
			out[k] = 0
		}
	} else if ellipsis >= 0 {
		return false
	}
	return true
}
