package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"go/build"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCanonicalURI(t *testing.T) {
	tests := []struct {
		raw, normalized, asIs string
	}{
		{"", "/", "/"},
		{"/", "/", "/"},
		{"//", "/", "//"},
		{"/./", "/", "/./"},
		{"/example/..", "/", "/example/.."},
		{"/a/b/..", "/a/", "/a/b/.."},
		{"/a/b/../c", "/a/c", "/a/b/../c"},
		{"/../a", "/a", "/../a"},
		{"//example//", "/example/", "//example//"},
		{"/./example", "/example", "/./example"},
		{"/example space/", "/example%20space/", "/example%20space/"},
		{"/%E1%88%B4", "/%25E1%2588%25B4", "/%25E1%2588%25B4"},
		{"/a%2Fb/c", "/a%252Fb/c", "/a%252Fb/c"},
		{"/-._~AZaz09", "/-._~AZaz09", "/-._~AZaz09"},
		{"/a:b@c!$&'()*+,;=", "/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D", "/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D"},
	}
	for _, tt := range tests {
		if got := string(appendCanonicalURI(nil, tt.raw, true)); got != tt.normalized {
			t.Errorf("normalized %q = %q, want %q", tt.raw, got, tt.normalized)
		}
		if got := string(appendCanonicalURI(nil, tt.raw, false)); got != tt.asIs {
			t.Errorf("as is %q = %q, want %q", tt.raw, got, tt.asIs)
		}
		if want := tt.normalized == tt.asIs; isNormalPath(tt.raw) != want && tt.raw != "" {
			t.Errorf("isNormalPath(%q) = %v, want %v", tt.raw, !want, want)
		}
	}
	deep := strings.Repeat("/d", 100) + "/"
	if got := string(appendCanonicalURI(nil, deep, true)); got != deep {
		t.Errorf("deep path = %q", got)
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", ""},
		{"Param1=value1", "Param1=value1"},
		{"Param2=value2&Param1=value1", "Param1=value1&Param2=value2"},
		{"b=2&a=2&a=1", "a=1&a=2&b=2"},
		{"flag&x=", "flag=&x="},
		{"a=1&&b=2", "a=1&b=2"},
		{"sp=a+b&pct=a%20b", "pct=a%20b&sp=a%20b"},
		{"%e1%88%b4=bar", "%E1%88%B4=bar"},
		{"\u1234=bar", "%E1%88%B4=bar"},
		{"Param-3=Value3&Param=Value2&%E1%88%B4=Value1", "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"},
		{"a=%7E%2D", "a=~-"},
		{"bad=%zz&trail=%4", "bad=%25zz&trail=%254"},
		{"eq=a=b", "eq=a%3Db"},
	}
	for _, tt := range tests {
		if got := string(appendCanonicalQuery(nil, tt.raw)); got != tt.want {
			t.Errorf("query %q = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestCanonicalHeaders(t *testing.T) {
	r, _ := http.NewRequest(http.MethodPost, "http://ignored/", nil)
	r.Host = "Example.COM:8443"
	r.Header["X-Multi"] = []string{"  a  ", "b   c", "\td"}
	r.Header["X-Amz-Date"] = []string{"20200611T141439Z"}
	r.Header["lower-case-key"] = []string{"odd map key"}
	r.ContentLength = 42
	got := string(appendCanonicalHeaders(nil, r, "content-length;host;lower-case-key;missing;x-amz-date;x-multi"))
	want := "content-length:42\nhost:Example.COM:8443\nlower-case-key:odd map key\nmissing:\n" +
		"x-amz-date:20200611T141439Z\nx-multi:a,b c,d\n"
	if got != want {
		t.Errorf("canonical headers =\n%q\nwant\n%q", got, want)
	}
}

func TestHMACPadded(t *testing.T) {
	key := [32]byte{1, 2, 3, 250}
	for _, n := range []int{0, 1, 55, 64, 200} {
		msg := []byte(strings.Repeat("m", n))
		want := hmac.New(sha256.New, key[:])
		want.Write(msg)
		got := hmacPadded(&key, append(make([]byte, 64), msg...))
		if !hmac.Equal(got[:], want.Sum(nil)) {
			t.Errorf("len %d: hmacPadded differs from crypto/hmac", n)
		}
	}
}

func TestKeyCache(t *testing.T) {
	var c keyCache
	c.init()
	k1 := *c.get("AKID", "secret1", "20200611", "us-east-1", "secretsmanager")
	if k1 != deriveKey("secret1", "20200611", "us-east-1", "secretsmanager") {
		t.Fatal("cached key differs from derived key")
	}
	if *c.get("AKID", "secret1", "20200611", "us-east-1", "secretsmanager") != k1 {
		t.Fatal("hit returned another key")
	}
	// A rotated secret under the same key id must not reuse the old key.
	if k2 := *c.get("AKID", "secret2", "20200611", "us-east-1", "secretsmanager"); k2 == k1 ||
		k2 != deriveKey("secret2", "20200611", "us-east-1", "secretsmanager") {
		t.Fatal("rotated secret reused the cached key")
	}
	for _, alt := range [][4]string{
		{"AKID2", "20200611", "us-east-1", "secretsmanager"},
		{"AKID", "20200612", "us-east-1", "secretsmanager"},
		{"AKID", "20200611", "eu-west-1", "secretsmanager"},
		{"AKID", "20200611", "us-east-1", "sts"},
	} {
		if got := *c.get(alt[0], "secret1", alt[1], alt[2], alt[3]); got != deriveKey("secret1", alt[1], alt[2], alt[3]) {
			t.Errorf("%v: wrong key", alt)
		}
	}
}

// TestKeyCacheConcurrent hammers one small cache from many goroutines with
// more scopes than slots; run it with -race.
func TestKeyCacheConcurrent(t *testing.T) {
	var c keyCache
	c.init()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 3000 {
				id := fmt.Sprintf("AKID%d", (i*7+g)%(2*cacheSlots))
				secret := "s" + id
				if got := *c.get(id, secret, "20200611", "us-east-1", "secretsmanager"); i%97 == 0 &&
					got != deriveKey(secret, "20200611", "us-east-1", "secretsmanager") {
					t.Errorf("%s: wrong key", id)
				}
			}
		})
	}
	wg.Wait()
}

// TestVerifyAllocs guards the hot path: with a warm key cache, Verify of a
// typical request does not allocate.
func TestVerifyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	r, body, req := typicalRequest(t)
	v := NewVerifier(func() time.Time { return testTime }, 0)
	if err := v.Verify(req, r, body, testSecret); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = v.Verify(req, r, body, testSecret) }); n != 0 {
		t.Errorf("Verify allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(r, testSvc) }); n > 1 {
		t.Errorf("Parse allocates %v times per call", n)
	}
}

// TestImports keeps the package on the standard library (DESIGN.md).
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("sigv4 imports %s; it may use the standard library only", imp)
		}
	}
}
