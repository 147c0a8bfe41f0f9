package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testSvc    = "secretsmanager"
)

// testTime is when the test requests are signed.
var testTime = time.Date(2020, 6, 11, 14, 14, 39, 0, time.UTC)

// sdkRequest describes an awsJson request for the aws-sdk-go-v2 signer.
type sdkRequest struct {
	host    string // with port, as in the endpoint URL
	path    string // unescaped, as in url.URL.Path
	query   string // raw
	region  string
	target  string
	body    []byte
	token   string            // session token, if any
	headers map[string]string // extra headers present at signing time
	sha256  string            // X-Amz-Content-Sha256 header and payload hash, if set
}

// signSDK signs p with aws-sdk-go-v2's SigV4 signer at signedAt and returns
// the request as a Go server receives it, after a trip through the wire
// format (so Host, Content-Length and the request target are the real ones).
func signSDK(t testing.TB, p sdkRequest, secret string, signedAt time.Time) (*http.Request, []byte) {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: p.host, Path: p.path, RawQuery: p.query}
	req, err := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", p.target)
	for k, v := range p.headers {
		req.Header.Set(k, v)
	}
	payload := p.sha256
	if payload == "" {
		sum := sha256.Sum256(p.body)
		payload = hex.EncodeToString(sum[:])
	} else {
		req.Header.Set("X-Amz-Content-Sha256", payload)
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret, SessionToken: p.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, testSvc, p.region, signedAt); err != nil {
		t.Fatal(err)
	}
	// User-Agent is added after signing, as SDK transports do; it is never signed.
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.47.7 os/linux lang/go#1.26")
	return roundTrip(t, req)
}

// roundTrip writes a client request in wire format and reads it back as a
// server request.
func roundTrip(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r, body
}

func parseVerify(r *http.Request, body []byte, secret string, now time.Time) error {
	req, err := Parse(r, testSvc)
	if err != nil {
		return err
	}
	return NewVerifier(func() time.Time { return now }, 0).Verify(req, r, body, secret)
}

// randomRequests returns deterministic, varied awsJson requests.
func randomRequests(n int) []sdkRequest {
	rng := rand.New(rand.NewPCG(1, 2))
	hosts := []string{"localhost:8443", "127.0.0.1:4566", "secretsmanager.us-east-1.amazonaws.com", "[::1]:9000", "coffer.internal:80", "Coffer.Example.COM:443"}
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "il-central-1", "eusc-de-east-1"}
	ops := []string{"GetSecretValue", "CreateSecret", "PutSecretValue", "ListSecrets", "DescribeSecret"}
	paths := []string{"/", "/", "/", "", "/a b/\u1234", "/x/y/", "//x/./y/../z", "/~user/%41"}
	queries := []string{"", "", "", "b=2&a=1", "k=v%20w&k=a&empty=&flag", "x=%E1%88%B4&y=a+b"}
	out := make([]sdkRequest, n)
	for i := range out {
		body := fmt.Sprintf(`{"SecretId":"app/%d/%s","VersionStage":"AWSCURRENT"}`, rng.IntN(1e6), strings.Repeat("x", rng.IntN(300)))
		if rng.IntN(5) == 0 {
			body = "{}"
		}
		if rng.IntN(7) == 0 {
			body = ""
		}
		p := sdkRequest{
			host:   hosts[rng.IntN(len(hosts))],
			path:   paths[rng.IntN(len(paths))],
			query:  queries[rng.IntN(len(queries))],
			region: regions[rng.IntN(len(regions))],
			target: "secretsmanager." + ops[rng.IntN(len(ops))],
			body:   []byte(body),
			headers: map[string]string{
				"Amz-Sdk-Invocation-Id": fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1)),
				"Amz-Sdk-Request":       fmt.Sprintf("attempt=%d; max=3", 1+rng.IntN(3)),
			},
		}
		if rng.IntN(3) == 0 {
			p.headers["X-Amz-User-Agent"] = "aws-cli/2.15.0  md/command#secretsmanager.get-secret-value"
		}
		if rng.IntN(4) == 0 {
			p.headers["X-Custom-Spaces"] = "  a   b \t c  "
		}
		if rng.IntN(4) == 0 {
			p.token = "FwoGZXIvYXdzE" + strings.Repeat("Ab/+", 1+rng.IntN(200)) + "=="
		}
		switch rng.IntN(6) {
		case 0:
			sum := sha256.Sum256(p.body)
			p.sha256 = hex.EncodeToString(sum[:])
		case 1:
			p.sha256 = unsignedPayload
		}
		out[i] = p
	}
	return out
}

// TestSDKSigner signs varied requests with aws-sdk-go-v2 and checks that
// they verify, and that changing any signed part makes them fail.
func TestSDKSigner(t *testing.T) {
	now := testTime.Add(90 * time.Second)
	for i, p := range randomRequests(300) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r, body := signSDK(t, p, testSecret, testTime)
			req, err := Parse(r, testSvc)
			if err != nil {
				t.Fatalf("Parse: %v\n%v", err, r.Header)
			}
			if req.AccessKeyID != testKeyID || req.Region != p.region || req.Service != testSvc ||
				req.Date != "20200611" || !req.Time.Equal(testTime) || req.SecurityToken != p.token {
				t.Fatalf("Parse = %+v", req)
			}
			v := NewVerifier(func() time.Time { return now }, 0)
			if err := v.Verify(req, r, body, testSecret); err != nil {
				t.Fatalf("Verify: %v (host %q path %q query %q)", err, p.host, p.path, p.query)
			}

			mismatch := func(what string, r *http.Request, body []byte, secret string) {
				t.Helper()
				err := parseVerify(r, body, secret, now)
				if !isCode(err, CodeInvalidSignature) || err.(*Error).Message != SignatureMismatch().Message {
					t.Errorf("%s: got %v, want a signature mismatch", what, err)
				}
			}

			mismatch("wrong secret", r, body, testSecret[:len(testSecret)-1]+"L")

			if p.sha256 != unsignedPayload {
				flipped := append([]byte(nil), body...)
				if len(flipped) == 0 {
					flipped = []byte("{}")
				} else {
					flipped[len(flipped)/2] ^= 0x01
				}
				mismatch("body changed", r, flipped, testSecret)
			} else if err := parseVerify(r, append(body, ' '), testSecret, now); err != nil {
				t.Errorf("UNSIGNED-PAYLOAD with another body: %v", err)
			}

			r2 := r.Clone(context.Background())
			r2.Header.Set("X-Amz-Target", p.target+"X")
			mismatch("signed header changed", r2, body, testSecret)

			r2 = r.Clone(context.Background())
			r2.Header.Set("Amz-Sdk-Request", r.Header.Get("Amz-Sdk-Request")+"0")
			mismatch("invocation header changed", r2, body, testSecret)

			r2 = r.Clone(context.Background())
			r2.Host = "other.example:1234"
			mismatch("host changed", r2, body, testSecret)

			r2 = r.Clone(context.Background())
			r2.RequestURI = "/other" + r.RequestURI
			mismatch("path changed", r2, body, testSecret)

			r2 = r.Clone(context.Background())
			auth := r.Header.Get("Authorization")
			last := auth[len(auth)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			r2.Header.Set("Authorization", auth[:len(auth)-1]+string(flip))
			mismatch("signature changed", r2, body, testSecret)

			r2 = r.Clone(context.Background())
			r2.Header.Set("User-Agent", "something else")
			r2.Header.Set("X-Not-Signed", "yes")
			if err := parseVerify(r2, body, testSecret, now); err != nil {
				t.Errorf("unsigned headers changed: %v", err)
			}
		})
	}
}

// TestContentSHA256 checks the X-Amz-Content-SHA256 rule: a signed claim
// about another body is a mismatch even though the signature covers it.
func TestContentSHA256(t *testing.T) {
	now := testTime
	body := []byte(`{"SecretId":"a"}`)
	other := sha256.Sum256([]byte(`{"SecretId":"b"}`))
	p := sdkRequest{host: "localhost:8443", path: "/", region: "us-east-1", target: "secretsmanager.GetSecretValue",
		body: body, sha256: hex.EncodeToString(other[:])}
	r, got := signSDK(t, p, testSecret, testTime)
	if err := parseVerify(r, got, testSecret, now); !isCode(err, CodeInvalidSignature) {
		t.Fatalf("claimed hash of another body: %v", err)
	}

	sum := sha256.Sum256(body)
	p.sha256 = strings.ToUpper(hex.EncodeToString(sum[:]))
	r, got = signSDK(t, p, testSecret, testTime)
	if err := parseVerify(r, got, testSecret, now); err != nil {
		t.Fatalf("upper-case hash of the body: %v", err)
	}
}
