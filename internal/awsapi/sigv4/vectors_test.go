package sigv4

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// suiteContext is the part of an aws-c-auth context.json the tests use.
type suiteContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	Region    string    `json:"region"`
	Service   string    `json:"service"`
	Timestamp time.Time `json:"timestamp"`
}

func loadContext(t *testing.T, dir string) suiteContext {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "context.json"))
	if errors.Is(err, os.ErrNotExist) {
		b, err = os.ReadFile(filepath.Join(filepath.Dir(dir), "context.json"))
	}
	if err != nil {
		t.Fatal(err)
	}
	var c suiteContext
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// readVector turns a suite request file into the request a Go server would
// hand to a handler, plus its body. Requests net/http can parse go through
// http.ReadRequest. The others are assembled by hand: a raw space in the
// request target (which net/http rejects), and folded header lines, which the
// suite uses to write one header with several values (get-header-value-multiline
// expects "value1,value2,value3") while net/http would unfold them into one
// value joined by spaces. No SDK folds headers.
func readVector(t *testing.T, raw []byte) (*http.Request, []byte) {
	t.Helper()
	wire := bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	folded := bytes.Contains(raw, []byte("\n ")) || bytes.Contains(raw, []byte("\n\t"))
	if r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire))); err == nil && !folded {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		return r, body
	}

	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	lines := strings.Split(string(head), "\n")
	first := lines[0]
	method, rest, _ := strings.Cut(first, " ")
	target := rest[:strings.LastIndexByte(rest, ' ')]
	r := &http.Request{
		Method:     method,
		RequestURI: target,
		Header:     http.Header{},
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		URL: &url.URL{Path: target},
	}
	var last string
	for _, l := range lines[1:] {
		if l[0] == ' ' || l[0] == '\t' { // a further value of the header above
			r.Header[last] = append(r.Header[last], strings.TrimSpace(l))
			continue
		}
		k, v, _ := strings.Cut(l, ":")
		k = textproto.CanonicalMIMEHeaderKey(k)
		v = strings.TrimSpace(v)
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header[k] = append(r.Header[k], v)
		last = k
	}
	if cl := r.Header.Get("Content-Length"); cl != "" {
		n, _ := strconv.Atoi(cl)
		r.ContentLength = int64(n)
		body = body[:n]
	}
	return r, body
}

// TestSuiteVectors verifies every header-signed request of AWS's SigV4 test
// suite with its credentials at its signing time.
func TestSuiteVectors(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "v4", "*", "header-signed-request.txt"))
	if err != nil || len(dirs) < 30 {
		t.Fatalf("found %d vectors (%v)", len(dirs), err)
	}
	for _, file := range dirs {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			ctx := loadContext(t, dir)
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r, body := readVector(t, raw)
			req, err := Parse(r, ctx.Service)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if req.AccessKeyID != ctx.Credentials.AccessKeyID || req.Region != ctx.Region ||
				req.Service != ctx.Service || !req.Time.Equal(ctx.Timestamp) {
				t.Fatalf("Parse = %+v, context %+v", req, ctx)
			}
			v := NewVerifier(func() time.Time { return ctx.Timestamp }, 0)
			if err := v.Verify(req, r, body, ctx.Credentials.SecretAccessKey); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := v.Verify(req, r, body, ctx.Credentials.SecretAccessKey+"x"); !isCode(err, CodeInvalidSignature) {
				t.Fatalf("Verify with a wrong secret = %v, want %s", err, CodeInvalidSignature)
			}
		})
	}
}

func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
