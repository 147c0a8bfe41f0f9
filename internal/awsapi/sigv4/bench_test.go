package sigv4

import (
	"net/http"
	"testing"
	"time"
)

// typicalRequest is a GetSecretValue call as aws-sdk-go-v2 sends it to a
// local endpoint, parsed.
func typicalRequest(t testing.TB) (*http.Request, []byte, *Request) {
	t.Helper()
	p := sdkRequest{
		host:   "localhost:8443",
		path:   "/",
		region: "us-east-1",
		target: "secretsmanager.GetSecretValue",
		body:   []byte(`{"SecretId":"prod/payments/db-password","VersionStage":"AWSCURRENT"}`),
		headers: map[string]string{
			"Amz-Sdk-Invocation-Id": "2f1d3c4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
			"Amz-Sdk-Request":       "attempt=1; max=3",
		},
	}
	r, body := signSDK(t, p, testSecret, testTime)
	req, err := Parse(r, testSvc)
	if err != nil {
		t.Fatal(err)
	}
	return r, body, req
}

// BenchmarkVerify measures Verify of a typical GetSecretValue request with a
// warm signing-key cache: skew check, body hash, canonical request, HMAC.
func BenchmarkVerify(b *testing.B) {
	r, body, req := typicalRequest(b)
	v := NewVerifier(func() time.Time { return testTime }, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(req, r, body, testSecret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseVerify is the whole per-request cost: Parse then Verify.
func BenchmarkParseVerify(b *testing.B) {
	r, body, _ := typicalRequest(b)
	v := NewVerifier(func() time.Time { return testTime }, 0)
	b.ReportAllocs()
	for b.Loop() {
		req, err := Parse(r, testSvc)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Verify(req, r, body, testSecret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyColdKey derives the signing key every time (a new secret
// each call), the cost of a cache miss.
func BenchmarkVerifyColdKey(b *testing.B) {
	r, body, req := typicalRequest(b)
	v := NewVerifier(func() time.Time { return testTime }, 0)
	secrets := []string{testSecret, testSecret + "2"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		_ = v.Verify(req, r, body, secrets[i&1])
	}
}

func BenchmarkParse(b *testing.B) {
	r, _, _ := typicalRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(r, testSvc); err != nil {
			b.Fatal(err)
		}
	}
}
