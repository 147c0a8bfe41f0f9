package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	// A real Secrets Manager request (BEHAVIOUR.md §2.1), re-signed here.
	goodStamp = "20200611T141439Z"
	goodCred  = testKeyID + "/20200611/us-west-2/secretsmanager/aws4_request"
)

// newRequest returns a server-side request with the given Authorization
// header (none if empty) and X-Amz-Date (none if empty).
func newRequest(auth, stamp string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://localhost:8443/", strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if stamp != "" {
		r.Header.Set("X-Amz-Date", stamp)
	}
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func authHeader(cred, signed, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=" + signed + ", Signature=" + sig
}

const (
	okSigned = "content-type;host;x-amz-date;x-amz-target"
	someSig  = "934acabcaaad7bd5e6d8d8a4e7c0a1c3bbd6c3e4c8f3b6f2f0d7dbc7e5a19f3e"
)

func TestParseErrors(t *testing.T) {
	okAuth := authHeader(goodCred, okSigned, someSig)
	tests := []struct {
		name  string
		req   func() *http.Request
		code  string
		msg   string
		scope string // service passed to Parse; secretsmanager if empty
	}{
		{
			name: "no Authorization header",
			req:  func() *http.Request { return newRequest("", goodStamp) },
			code: CodeMissingAuthenticationToken, msg: "Missing Authentication Token",
		},
		{
			name: "blank Authorization header",
			req:  func() *http.Request { return newRequest("  ", goodStamp) },
			code: CodeMissingAuthenticationToken, msg: "Missing Authentication Token",
		},
		{
			name: "presigned URL (not supported)",
			req: func() *http.Request {
				return httptest.NewRequest(http.MethodPost, "http://localhost/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x", nil)
			},
			code: CodeMissingAuthenticationToken, msg: "Missing Authentication Token",
		},
		{
			name: "presigned and header",
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "http://localhost/?X-Amz-Algorithm=AWS4-HMAC-SHA256", nil)
				r.Header.Set("Authorization", okAuth)
				return r
			},
			code: CodeInvalidSignature, msg: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
		},
		{
			name: "part without equal sign",
			req: func() *http.Request {
				return newRequest("AWS4-HMAC-SHA256 Credential= "+goodCred+", SignedHeaders="+okSigned+", Signature="+someSig, goodStamp)
			},
			code: CodeIncompleteSignature,
			msg: "'" + goodCred + "' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential= " +
				goodCred + ", SignedHeaders=" + okSigned + ", Signature=" + someSig + "'.",
		},
		{
			name: "scheme only",
			req:  func() *http.Request { return newRequest("AWS4-HMAC-SHA256", goodStamp) },
			code: CodeIncompleteSignature,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
		},
		{
			name: "missing Signature",
			req: func() *http.Request {
				return newRequest("AWS4-HMAC-SHA256 Credential="+goodCred+", SignedHeaders="+okSigned, goodStamp)
			},
			code: CodeIncompleteSignature,
			msg:  "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=" + okSigned,
		},
		{
			name: "empty SignedHeaders and Credential",
			req: func() *http.Request {
				return newRequest("AWS4-HMAC-SHA256 Credential=,SignedHeaders=,Signature="+someSig, goodStamp)
			},
			code: CodeIncompleteSignature,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization=AWS4-HMAC-SHA256 Credential=,SignedHeaders=,Signature=" + someSig,
		},
		{
			name: "no date header",
			req:  func() *http.Request { return newRequest(okAuth, "") },
			code: CodeIncompleteSignature,
			msg:  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + okAuth,
		},
		{
			name: "signature version 2 header",
			req:  func() *http.Request { return newRequest("AWS AKIDEXAMPLE:qaNdqGsI6bq4Hi+9Gzovwyjbh0E=", goodStamp) },
			code: CodeIncompleteSignature,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=AWS AKIDEXAMPLE:qaNdqGsI6bq4Hi+9Gzovwyjbh0E=",
		},
		{
			name: "malformed X-Amz-Date",
			req:  func() *http.Request { return newRequest(okAuth, "2020-06-11T14:14:39Z") },
			code: CodeIncompleteSignature,
			msg:  "Date must be in ISO-8601 'basic format'. Got '2020-06-11T14:14:39Z'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{
			name: "host not signed",
			req: func() *http.Request {
				return newRequest(authHeader(goodCred, "content-type;x-amz-date;x-amz-target", someSig), goodStamp)
			},
			code: CodeInvalidSignature, msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name: "date not signed",
			req: func() *http.Request {
				return newRequest(authHeader(goodCred, "content-type;host;x-amz-target", someSig), goodStamp)
			},
			code: CodeInvalidSignature, msg: "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name: "SigV4a algorithm",
			req: func() *http.Request {
				return newRequest(strings.Replace(okAuth, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1), goodStamp)
			},
			code: CodeIncompleteSignature, msg: "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). ",
		},
		{
			name: "four credential parts",
			req: func() *http.Request {
				return newRequest(authHeader(testKeyID+"/20200611/us-west-2/secretsmanager", okSigned, someSig), goodStamp)
			},
			code: CodeIncompleteSignature,
			msg:  "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + testKeyID + "/20200611/us-west-2/secretsmanager'",
		},
		{
			name: "slash in key id",
			req: func() *http.Request {
				return newRequest(authHeader("UWMPP/Rona/20200611/us-west-2/secretsmanager/aws4_request", okSigned, someSig), goodStamp)
			},
			code: CodeIncompleteSignature,
			msg:  "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'UWMPP/Rona/20200611/us-west-2/secretsmanager/aws4_request'",
		},
		{
			name: "wrong service",
			req: func() *http.Request {
				return newRequest(authHeader(testKeyID+"/20200611/us-west-2/dynamodb/aws4_request", okSigned, someSig), goodStamp)
			},
			code: CodeInvalidSignature, msg: "Credential should be scoped to correct service: 'secretsmanager'. ",
		},
		{
			name: "service checked against the argument",
			req:  func() *http.Request { return newRequest(okAuth, goodStamp) },
			code: CodeInvalidSignature, msg: "Credential should be scoped to correct service: 'sts'. ", scope: "sts",
		},
		{
			name: "region in capitals",
			req: func() *http.Request {
				return newRequest(authHeader(testKeyID+"/20200611/US-WEST-2/secretsmanager/aws4_request", okSigned, someSig), goodStamp)
			},
			code: CodeInvalidSignature, msg: "Credential should be scoped to a valid region, not 'US-WEST-2'. ",
		},
		{
			name: "service name as region",
			req: func() *http.Request {
				return newRequest(authHeader(testKeyID+"/20200611/execute-api/secretsmanager/aws4_request", okSigned, someSig), goodStamp)
			},
			code: CodeInvalidSignature, msg: "Credential should be scoped to a valid region, not 'execute-api'. ",
		},
		{
			name: "empty region",
			req: func() *http.Request {
				return newRequest(authHeader(testKeyID+"/20200611//secretsmanager/aws4_request", okSigned, someSig), goodStamp)
			},
			code: CodeInvalidSignature, msg: "Credential should be scoped to a valid region, not ''. ",
		},
		{
			name: "wrong terminator",
			req: func() *http.Request {
				return newRequest(authHeader(testKeyID+"/20200611/us-west-2/secretsmanager/aws5_request", okSigned, someSig), goodStamp)
			},
			code: CodeInvalidSignature, msg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
		},
		{
			name: "scope date is not the request date",
			req: func() *http.Request {
				return newRequest(authHeader(testKeyID+"/20200610/us-west-2/secretsmanager/aws4_request", okSigned, someSig), goodStamp)
			},
			code: CodeInvalidSignature,
			msg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200610' != '20200611', from '20200611T141439Z'.",
		},
		{
			name: "everything wrong in the scope",
			req: func() *http.Request {
				return newRequest(authHeader("a/b/c/d/e", okSigned, someSig), goodStamp)
			},
			code: CodeInvalidSignature,
			msg: "Credential should be scoped to a valid region, not 'c'. Credential should be scoped to correct service: 'secretsmanager'. " +
				"Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. " +
				"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: 'b' != '20200611', from '20200611T141439Z'.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := tt.scope
			if svc == "" {
				svc = testSvc
			}
			req, err := Parse(tt.req(), svc)
			if req != nil {
				t.Errorf("Parse returned a request with error %v", err)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse error = %#v, want *Error", err)
			}
			if e.Code != tt.code || e.Message != tt.msg {
				t.Errorf("Parse error =\n  %s: %q\nwant\n  %s: %q", e.Code, e.Message, tt.code, tt.msg)
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	tests := []struct {
		name string
		auth string
	}{
		{"no spaces after commas", "AWS4-HMAC-SHA256 Credential=" + goodCred + ",SignedHeaders=" + okSigned + ",Signature=" + someSig},
		{"extra white space", "  AWS4-HMAC-SHA256   Credential=" + goodCred + " ,\tSignedHeaders=" + okSigned + " , Signature=" + someSig + "  "},
		{"trailing slash in credential", authHeader(goodCred+"/", okSigned, someSig)},
		{"parts in another order", "AWS4-HMAC-SHA256 Signature=" + someSig + ", Credential=" + goodCred + ", SignedHeaders=" + okSigned},
		{"upper-case Host in SignedHeaders", authHeader(goodCred, "content-type;Host;x-amz-date;x-amz-target", someSig)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(tt.auth, goodStamp)
			r.Header.Set("X-Amz-Security-Token", "tok")
			req, err := Parse(r, testSvc)
			if err != nil {
				t.Fatal(err)
			}
			if req.AccessKeyID != testKeyID || req.Date != "20200611" || req.Region != "us-west-2" ||
				req.Service != testSvc || req.SecurityToken != "tok" ||
				!req.Time.Equal(time.Date(2020, 6, 11, 14, 14, 39, 0, time.UTC)) {
				t.Errorf("Parse = %+v", req)
			}
		})
	}
}

func TestValidRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1", "cn-northwest-1",
		"us-isob-east-1", "eusc-de-east-1", "me-central-1", "xx-local-1"} {
		if !validRegion(r) {
			t.Errorf("validRegion(%q) = false", r)
		}
	}
	for _, r := range []string{"", "us", "us-east", "useast1", "US-EAST-1", "us-east-1a", "us--east-1", "-us-east-1",
		"us-east-1-", "1s-east-1", "u-east-1", "us_east-1", "us-east-1 ", "execute-api", "aws-global",
		"us-east-" + strings.Repeat("1", 30)} {
		if validRegion(r) {
			t.Errorf("validRegion(%q) = true", r)
		}
	}
}

// refSign signs r the textbook way (BEHAVIOUR.md §2.2 steps 6 to 8), with
// strings and crypto/hmac, for requests whose path is "/" and query empty.
func refSign(r *http.Request, body []byte, stamp, scope, secret string, signed []string) string {
	sort.Strings(signed)
	var canon strings.Builder
	canon.WriteString(r.Method + "\n/\n\n")
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	sum := sha256.Sum256(body)
	canon.WriteString("\n" + strings.Join(signed, ";") + "\n" + hex.EncodeToString(sum[:]))
	crHash := sha256.Sum256([]byte(canon.String()))
	sts := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	mac := func(k []byte, m string) []byte {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(m))
		return h.Sum(nil)
	}
	parts := strings.Split(scope, "/")
	k := mac([]byte("AWS4"+secret), parts[0])
	for _, p := range parts[1:] {
		k = mac(k, p)
	}
	return hex.EncodeToString(mac(k, sts))
}

// TestDateHeader checks a request dated by Date instead of X-Amz-Date: the
// string to sign carries the ISO basic form of that instant.
func TestDateHeader(t *testing.T) {
	body := []byte(`{"SecretId":"x"}`)
	r := newRequest("", "")
	r.Body = nil
	r.Header.Set("Date", "Thu, 11 Jun 2020 14:14:39 GMT")
	scope := "20200611/us-west-2/secretsmanager/aws4_request"
	sig := refSign(r, body, goodStamp, scope, testSecret, []string{"content-type", "date", "host", "x-amz-target"})
	r.Header.Set("Authorization", authHeader(testKeyID+"/"+scope, "content-type;date;host;x-amz-target", sig))
	if err := parseVerify(r, body, testSecret, testTime); err != nil {
		t.Fatal(err)
	}

	// The Date header must then be signed.
	r.Header.Set("Authorization", authHeader(testKeyID+"/"+scope, "content-type;host;x-amz-target", sig))
	_, err := Parse(r, testSvc)
	if e, ok := err.(*Error); !ok || e.Message != "'Date' must be a 'SignedHeader' in the AWS Authorization." {
		t.Errorf("Date not signed: %v", err)
	}

	// And be a valid HTTP date.
	r.Header.Set("Date", "yesterday")
	r.Header.Set("Authorization", authHeader(testKeyID+"/"+scope, "content-type;date;host;x-amz-target", sig))
	_, err = Parse(r, testSvc)
	if e, ok := err.(*Error); !ok || e.Message != "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601" {
		t.Errorf("bad Date: %v", err)
	}
}

// TestSkew checks the clock-skew window and AWS's exact texts, using the
// two recorded examples of BEHAVIOUR.md §2.2 step 4.
func TestSkew(t *testing.T) {
	tests := []struct {
		name       string
		stamp, now string
		msg        string // "" means accepted
	}{
		{"recorded expired", "20251105T220858Z", "20251106T132608Z",
			"Signature expired: 20251105T220858Z is now earlier than 20251106T132108Z (20251106T132608Z - 5 min.)"},
		{"recorded not yet current", "20170731T092200Z", "20170731T091615Z",
			"Signature not yet current: 20170731T092200Z is still later than 20170731T092115Z (20170731T091615Z + 5 min.)"},
		{"just expired", "20200611T140938Z", "20200611T141439Z",
			"Signature expired: 20200611T140938Z is now earlier than 20200611T140939Z (20200611T141439Z - 5 min.)"},
		{"just too new", "20200611T141940Z", "20200611T141439Z",
			"Signature not yet current: 20200611T141940Z is still later than 20200611T141939Z (20200611T141439Z + 5 min.)"},
		{"5 min old", "20200611T140939Z", "20200611T141439Z", ""},
		{"5 min ahead", "20200611T141939Z", "20200611T141439Z", ""},
		{"now", "20200611T141439Z", "20200611T141439Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, _ := time.Parse(isoBasicLayout, tt.stamp)
			now, _ := time.Parse(isoBasicLayout, tt.now)
			now = now.Add(400 * time.Millisecond) // sub-second clock readings do not matter
			p := sdkRequest{host: "localhost:8443", path: "/", region: "us-west-2", target: "secretsmanager.GetSecretValue", body: []byte("{}")}
			r, body := signSDK(t, p, testSecret, at)
			err := parseVerify(r, body, testSecret, now)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if e, ok := err.(*Error); !ok || e.Code != CodeInvalidSignature || e.Message != tt.msg {
				t.Errorf("Verify = %#v\nwant %q", err, tt.msg)
			}
		})
	}

	// Another window is written the same way.
	at, _ := time.Parse(isoBasicLayout, "20130301T000000Z")
	now, _ := time.Parse(isoBasicLayout, "20130609T100015Z")
	if got := SignatureExpired(at, now, 15*time.Minute).Message; got !=
		"Signature expired: 20130301T000000Z is now earlier than 20130609T094515Z (20130609T100015Z - 15 min.)" {
		t.Errorf("15 min window: %q", got)
	}
}

func TestVerifyRejects(t *testing.T) {
	p := sdkRequest{host: "localhost:8443", path: "/", region: "us-west-2", target: "secretsmanager.GetSecretValue", body: []byte("{}")}
	r, body := signSDK(t, p, testSecret, testTime)
	auth := r.Header.Get("Authorization")
	sig := auth[len(auth)-64:]
	tests := []struct {
		name string
		sig  string
	}{
		{"upper-case signature", strings.ToUpper(sig)},
		{"short signature", sig[:63]},
		{"long signature", sig + "0"},
		{"not hex", sig[:63] + "g"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r2 := r.Clone(t.Context())
			r2.Header.Set("Authorization", auth[:len(auth)-64]+tt.sig)
			if err := parseVerify(r2, body, testSecret, testTime); !isCode(err, CodeInvalidSignature) {
				t.Errorf("Verify = %v", err)
			}
		})
	}
	// A Request not made by Parse never verifies.
	v := NewVerifier(func() time.Time { return testTime }, 0)
	if err := v.Verify(&Request{Time: testTime}, r, body, testSecret); !isCode(err, CodeInvalidSignature) {
		t.Errorf("zero Request: %v", err)
	}
}

func TestCallerErrors(t *testing.T) {
	for _, tt := range []struct {
		e    *Error
		code string
		msg  string
	}{
		{UnrecognizedClient(), "UnrecognizedClientException", "The security token included in the request is invalid."},
		{ExpiredToken(), "ExpiredTokenException", "The security token included in the request is expired"},
		{MissingAuthenticationToken(), "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{SignatureMismatch(), "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
	} {
		if tt.e.Code != tt.code || tt.e.Message != tt.msg || tt.e.Error() != tt.code+": "+tt.msg {
			t.Errorf("%#v, want %s %q", tt.e, tt.code, tt.msg)
		}
	}
}

// TestRequestNeverPrintsItsToken: a parsed request printed with any verb,
// as a value or a pointer, shows no session token.
func TestRequestNeverPrintsItsToken(t *testing.T) {
	r := Request{AccessKeyID: "ASIAEXAMPLE", SecurityToken: "token-canary-7e1f", scope: "20261122/us-east-1/secretsmanager/aws4_request"}
	for _, v := range []any{r, &r} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "token-canary") || !strings.Contains(out, "ASIAEXAMPLE") {
				t.Errorf("Sprintf(%q, %T) = %s", verb, v, out)
			}
		}
	}
}
