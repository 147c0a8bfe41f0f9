package policy

import (
	"net/netip"
	"testing"
)

// The hand-written address parser agrees with net/netip.
func TestIPParsing(t *testing.T) {
	addrs := []string{"10.0.0.1", "255.255.255.255", "0.0.0.0", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1..2.3",
		"::", "::1", "2001:db8::1", "2001:db8:0:0:0:0:0:1", "2001:db8::", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7", "::ffff:10.1.2.3", "64:ff9b::192.0.2.33", ":::1", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7::", "::1.2.3.4", "", "abc"}
	for _, s := range addrs {
		want, err := netip.ParseAddr(s)
		got, ok := parseAddr(s)
		if ok != (err == nil) {
			t.Errorf("parseAddr(%q) ok = %v, netip err = %v", s, ok, err)
			continue
		}
		if !ok {
			continue
		}
		want = want.Unmap()
		if got.v4 != want.Is4() {
			t.Errorf("parseAddr(%q) v4 = %v", s, got.v4)
		}
		if want.Is4() {
			b := want.As4()
			if [4]byte(got.b[:4]) != b {
				t.Errorf("parseAddr(%q) = %v, want %v", s, got.b[:4], b)
			}
		} else if got.b != want.As16() {
			t.Errorf("parseAddr(%q) = %v, want %v", s, got.b, want.As16())
		}
	}
	cases := []struct {
		prefix, addr string
		want         bool
	}{
		{"10.0.0.0/8", "10.255.0.1", true}, {"10.0.0.0/8", "11.0.0.1", false}, {"10.1.2.3", "10.1.2.3", true},
		{"10.1.2.3", "10.1.2.4", false}, {"0.0.0.0/0", "1.2.3.4", true}, {"192.168.1.128/25", "192.168.1.127", false},
		{"2001:db8::/32", "2001:db8:ffff::1", true}, {"2001:db8::/32", "2001:db9::1", false}, {"10.0.0.0/8", "::ffff:10.0.0.1", true},
		{"10.0.0.0/8", "2001:db8::1", false}, {"10.0.0.0/33", "10.0.0.1", false}, {"::/0", "::1", true},
	}
	for _, c := range cases {
		p, _ := parsePrefix(c.prefix)
		a, _ := parseAddr(c.addr)
		if got := p.contains(a); got != c.want {
			t.Errorf("%s contains %s = %v, want %v", c.prefix, c.addr, got, c.want)
		}
	}
}
