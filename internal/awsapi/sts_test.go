package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/coffer-dev/coffer/internal/awsapi/smapi"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/secrets"
)

// The identity of the STS tests' handler.
const (
	stsTestAccount = "123456789012"
	stsTestKeyID   = "AKIAIOSFODNN7EXAMPLE"
	stsTestSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	stsTestRegion  = "us-east-1"
)

// newSTSTestHandler builds a Handler over the real iam and secrets services
// on a temporary SQLite store, with the test identity as the root key.
func newSTSTestHandler(t *testing.T) *Handler { return newTestHandler(t, nil) }

// stsRouted is the handler as ServeHTTP routes once the STS hook is in
// place: STS calls to serveSTS, everything else to ServeHTTP.
func stsRouted(h *Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isSTS(r) {
			h.serveSTS(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// stsCallSpec is one raw request to send.
type stsCallSpec struct {
	method      string // default POST
	query       string
	contentType string // default botocore's form type with charset
	body        string // default GetCallerIdentity
	service     string // signing service, default "sts"
	keyID       string // default the test key
	secret      string // default the test secret
	token       string // session token
	signedAt    time.Time
	unsigned    bool
}

// doSTS signs spec with aws-sdk-go-v2's SigV4 signer and sends it to srv.
func doSTS(t *testing.T, srv *httptest.Server, spec stsCallSpec) (*http.Response, string) {
	t.Helper()
	if spec.method == "" {
		spec.method = http.MethodPost
	}
	if spec.contentType == "" && spec.method == http.MethodPost {
		spec.contentType = "application/x-www-form-urlencoded; charset=utf-8"
	}
	if spec.body == "" && spec.method == http.MethodPost {
		spec.body = "Action=GetCallerIdentity&Version=2011-06-15"
	}
	if spec.service == "" {
		spec.service = "sts"
	}
	if spec.keyID == "" {
		spec.keyID = stsTestKeyID
	}
	if spec.secret == "" {
		spec.secret = stsTestSecret
	}
	if spec.signedAt.IsZero() {
		spec.signedAt = time.Now()
	}
	u := srv.URL + "/"
	if spec.query != "" {
		u += "?" + spec.query
	}
	req, err := http.NewRequest(spec.method, u, strings.NewReader(spec.body))
	if err != nil {
		t.Fatal(err)
	}
	if spec.contentType != "" {
		req.Header.Set("Content-Type", spec.contentType)
	}
	if !spec.unsigned {
		sum := sha256.Sum256([]byte(spec.body))
		creds := aws.Credentials{AccessKeyID: spec.keyID, SecretAccessKey: spec.secret, SessionToken: spec.token}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
			spec.service, stsTestRegion, spec.signedAt); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var requestIDRE = regexp.MustCompile(`<RequestId>([0-9a-f-]{36})</RequestId>`)

// checkSTSAnswer checks the status, the headers and the exact body (with
// the request id replaced by REQID).
func checkSTSAnswer(t *testing.T, resp *http.Response, body string, status int, want string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d\n%s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type %q, want text/xml", ct)
	}
	m := requestIDRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no RequestId in\n%s", body)
	}
	if got := resp.Header.Get("x-amzn-RequestId"); got != m[1] {
		t.Errorf("x-amzn-RequestId %q, body says %q", got, m[1])
	}
	if got := strings.Replace(body, m[1], "REQID", 1); got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
}

const wantIdentity = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:root</Arn>
    <UserId>123456789012</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>REQID</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`

func stsErrorDoc(code, msg string) string {
	return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>` + code + `</Code>
    <Message>` + msg + `</Message>
  </Error>
  <RequestId>REQID</RequestId>
</ErrorResponse>
`
}

func TestGetCallerIdentityWire(t *testing.T) {
	srv := httptest.NewServer(stsRouted(newSTSTestHandler(t)))
	defer srv.Close()

	const mismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	cases := []struct {
		name   string
		spec   stsCallSpec
		status int
		want   string
	}{
		{"botocore form", stsCallSpec{}, 200, wantIdentity},
		{"aws-sdk-go-v2 form", stsCallSpec{contentType: "application/x-www-form-urlencoded"}, 200, wantIdentity},
		{"parameters in any order", stsCallSpec{body: "Version=2011-06-15&Action=GetCallerIdentity"}, 200, wantIdentity},
		{"query GET", stsCallSpec{method: http.MethodGet, query: "Action=GetCallerIdentity&Version=2011-06-15"}, 200, wantIdentity},
		{"unknown key", stsCallSpec{keyID: "AKIAUNKNOWNKEY000000"}, 403,
			stsErrorDoc("InvalidClientTokenId", "The security token included in the request is invalid.")},
		{"session token on a permanent key", stsCallSpec{token: "FwoGZXIvYXdzEXAMPLE"}, 403,
			stsErrorDoc("InvalidClientTokenId", "The security token included in the request is invalid.")},
		{"wrong secret", stsCallSpec{secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY"}, 403,
			stsErrorDoc("SignatureDoesNotMatch", mismatch)},
		{"scoped to secretsmanager", stsCallSpec{service: "secretsmanager"}, 403,
			stsErrorDoc("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. ")},
		{"no credentials", stsCallSpec{unsigned: true}, 403,
			stsErrorDoc("MissingAuthenticationToken", "Request is missing Authentication Token")},
		{"unknown action", stsCallSpec{body: "Action=GetSessionToken&Version=2011-06-15"}, 400,
			stsErrorDoc("InvalidAction", "Could not find operation GetSessionToken for version 2011-06-15")},
		{"IAM version on STS", stsCallSpec{body: "Action=AssumeRole&Version=2010-05-08&RoleArn=x"}, 400,
			stsErrorDoc("InvalidAction", "Could not find operation AssumeRole for version 2010-05-08")},
		{"AssumeRole without members", stsCallSpec{body: "Action=AssumeRole&Version=2011-06-15"}, 400,
			stsErrorDoc("ValidationError", "2 validation errors detected: "+
				"Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "+
				"Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")},
		{"unknown version", stsCallSpec{body: "Action=GetCallerIdentity&Version=2010-01-01"}, 400,
			stsErrorDoc("InvalidAction", "Could not find operation GetCallerIdentity for version 2010-01-01")},
		{"no version", stsCallSpec{body: "Action=GetCallerIdentity"}, 400,
			stsErrorDoc("InvalidAction", "Could not find operation GetCallerIdentity for version ")},
		{"no action", stsCallSpec{body: "Version=2011-06-15"}, 400,
			stsErrorDoc("MissingAction", "Missing Action")},
		{"markup in the action is escaped", stsCallSpec{body: "Action=%3Cx%3E&Version=2011-06-15"}, 400,
			stsErrorDoc("InvalidAction", "Could not find operation &lt;x&gt; for version 2011-06-15")},
		{"malformed form", stsCallSpec{body: "Action=GetCallerIdentity&Version=%zz"}, 404,
			stsErrorDoc("MalformedQueryString", "The query string is malformed.")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := doSTS(t, srv, tc.spec)
			checkSTSAnswer(t, resp, body, tc.status, tc.want)
		})
	}

	t.Run("clock skew", func(t *testing.T) {
		resp, body := doSTS(t, srv, stsCallSpec{signedAt: time.Now().Add(-10 * time.Minute)})
		if resp.StatusCode != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") ||
			!strings.Contains(body, "<Message>Signature expired: ") || !strings.Contains(body, " - 5 min.)</Message>") {
			t.Errorf("status %d\n%s", resp.StatusCode, body)
		}
		if resp.Header.Get("Date") == "" {
			t.Error("no Date header to correct the clock with")
		}
	})
}

func TestIsSTS(t *testing.T) {
	const stsAuth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
	const smAuth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
	cases := []struct {
		name    string
		target  string
		ctype   string
		auth    string
		query   string
		wantSTS bool
	}{
		{"secrets manager call", "secretsmanager.GetSecretValue", "application/x-amz-json-1.1", smAuth, "", false},
		{"botocore form", "", "application/x-www-form-urlencoded; charset=utf-8", stsAuth, "", true},
		{"form type in capitals", "", "Application/X-WWW-Form-Urlencoded", "", "", true},
		{"unsigned form", "", "application/x-www-form-urlencoded", "", "", true},
		{"sts scope, no content type", "", "", stsAuth, "", true},
		{"iam scope, no content type", "", "", strings.Replace(stsAuth, "/sts/", "/iam/", 1), "", true},
		{"query GET", "", "", "", "Action=GetCallerIdentity&Version=2011-06-15", true},
		{"json without target", "", "application/x-amz-json-1.1", smAuth, "", false},
		{"nothing at all", "", "", "", "", false},
		{"target wins over form", "secretsmanager.ListSecrets", "application/x-www-form-urlencoded", stsAuth, "", false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodPost, "http://localhost/?"+tc.query, nil)
		if tc.target != "" {
			r.Header.Set("X-Amz-Target", tc.target)
		}
		if tc.ctype != "" {
			r.Header.Set("Content-Type", tc.ctype)
		}
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := isSTS(r); got != tc.wantSTS {
			t.Errorf("%s: isSTS = %v, want %v", tc.name, got, tc.wantSTS)
		}
	}
}

// TestGetCallerIdentitySDK drives the handler with aws-sdk-go-v2's STS
// client, as chamber and the Secrets Manager Agent do.
func TestGetCallerIdentitySDK(t *testing.T) {
	srv := httptest.NewServer(stsRouted(newSTSTestHandler(t)))
	defer srv.Close()
	client := func(keyID, secret string) *sts.Client {
		return sts.New(sts.Options{
			Region:           stsTestRegion,
			BaseEndpoint:     aws.String(srv.URL),
			Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
			RetryMaxAttempts: 1,
		})
	}
	out, err := client(stsTestKeyID, stsTestSecret).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != stsTestAccount || aws.ToString(out.UserId) != stsTestAccount ||
		aws.ToString(out.Arn) != "arn:aws:iam::123456789012:root" {
		t.Errorf("got Account %q UserId %q Arn %q", aws.ToString(out.Account), aws.ToString(out.UserId), aws.ToString(out.Arn))
	}

	_, err = client("AKIAUNKNOWNKEY000000", stsTestSecret).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" ||
		ae.ErrorMessage() != "The security token included in the request is invalid." {
		t.Fatalf("unknown key: %v", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 403 || re.ServiceRequestID() == "" {
		t.Errorf("unknown key: want HTTP 403 with a request id, got %v", err)
	}
}

// TestSecretsManagerUnaffectedBySTSRouting checks that an awsJson call still
// reaches the Secrets Manager path through the routed handler.
func TestSecretsManagerUnaffectedBySTSRouting(t *testing.T) {
	srv := httptest.NewServer(stsRouted(newSTSTestHandler(t)))
	defer srv.Close()
	body := `{}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", "secretsmanager.ListSecrets")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: stsTestKeyID, SecretAccessKey: stsTestSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "secretsmanager", stsTestRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != contentType {
		t.Fatalf("ListSecrets: %d %s", resp.StatusCode, b)
	}
}

// TestGetRandomPasswordAdapter runs the GetRandomPassword adapter the way
// the operations table will: decode, validate against the model, call.
func TestGetRandomPasswordAdapter(t *testing.T) {
	h := newSTSTestHandler(t)
	fn := op[smapi.GetRandomPasswordRequest](getRandomPassword)
	caller := secrets.Caller{Account: stsTestAccount, Region: stsTestRegion, Identity: &iam.Identity{
		Principal: iam.Principal{Account: stsTestAccount, ARN: "arn:aws:iam::123456789012:root", Kind: iam.KindRoot, UserID: stsTestAccount},
		Root:      true,
	}}
	call := func(body string) (string, error) {
		out, err := fn(context.Background(), h, caller, []byte(body))
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		var res struct{ RandomPassword string }
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		return res.RandomPassword, nil
	}

	p, err := call(`{}`)
	if err != nil || len(p) != 32 {
		t.Fatalf("defaults: %d characters, %v", len(p), err)
	}
	p, err = call(`{"PasswordLength":20,"ExcludeCharacters":"/@\"'\\","ExcludePunctuation":true,"RequireEachIncludedType":true}`)
	if err != nil || len(p) != 20 || strings.ContainsAny(p, `/@"'\!#`) {
		t.Fatalf("rotation-style call: %q, %v", p, err)
	}
	p, err = call(`{"PasswordLength":2,"RequireEachIncludedType":false,"ExcludeLowercase":true,"ExcludeUppercase":true,"ExcludePunctuation":true}`)
	if err != nil || len(p) != 2 || strings.Trim(p, "0123456789") != "" {
		t.Fatalf("digits only: %q, %v", p, err)
	}
	p, err = call(`{"IncludeSpace":true,"ExcludeLowercase":true,"ExcludeUppercase":true,"ExcludeNumbers":true,"ExcludePunctuation":true,"PasswordLength":3}`)
	if err != nil || p != "   " {
		t.Fatalf("spaces only: %q, %v", p, err)
	}

	errCases := []struct {
		body, code, msg string
	}{
		{`{"PasswordLength":0}`, "ValidationException",
			"1 validation error detected: Value '0' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{`{"PasswordLength":4097}`, "ValidationException",
			"1 validation error detected: Value '4097' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096"},
		{`{"PasswordLength":3}`, "InvalidParameterException", "Password length is too short based on the required types."},
		{`{"ExcludeCharacters":"0123456789"}`, "InvalidParameterException", "All characters of the desired type have been excluded."},
		{`{"ExcludeLowercase":true,"ExcludeUppercase":true,"ExcludeNumbers":true,"ExcludePunctuation":true}`,
			"InvalidParameterException", "All characters have been excluded from selection."},
		{`{"PasswordLength":"32"}`, "SerializationException", "Unexpected value type for member PasswordLength."},
	}
	for _, tc := range errCases {
		_, err := call(tc.body)
		ae, _ := toAPIError(err)
		if err == nil || ae.Code != tc.code || ae.Message != tc.msg || ae.Status != 400 {
			t.Errorf("%s: got %v, want %s %q", tc.body, err, tc.code, tc.msg)
		}
	}
}

func TestXMLText(t *testing.T) {
	cases := map[string]string{
		`Credential should be scoped to correct service: 'sts'. `: `Credential should be scoped to correct service: 'sts'. `,
		`a<b>&"c"`:       `a&lt;b&gt;&amp;"c"`,
		"nul\x00bad\xff": "nul\uFFFDbad\uFFFD",
		"tab\tnl\ncr\r":  "tab\tnl\ncr&#xD;",
	}
	for in, want := range cases {
		if got := xmlText(in); got != want {
			t.Errorf("xmlText(%q) = %q, want %q", in, got, want)
		}
	}
}
