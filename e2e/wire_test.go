package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// rawCall sends one awsJson request signed at time at (zero: unsigned) and
// returns the response with its decoded body.
func (s *server) rawCall(t *testing.T, target, body string, at time.Time) (*http.Response, map[string]any) {
	t.Helper()
	resp, raw := s.rawRequest(t, target, body, at)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("response body %q is not JSON: %v", raw, err)
		}
	}
	return resp, out
}

// rawExchange sends body to operation op (no target when op is "-").
func (s *server) rawExchange(t *testing.T, op, body string, at time.Time) (*http.Response, []byte) {
	t.Helper()
	target := "secretsmanager." + op
	if op == "-" {
		target = ""
	}
	return s.rawRequest(t, target, body, at)
}

// rawRequest sends one awsJson request signed at time at (zero: unsigned).
func (s *server) rawRequest(t *testing.T, target, body string, at time.Time) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if !at.IsZero() {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecretKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "secretsmanager", testRegion, at); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

func TestWireErrors(t *testing.T) {
	s := startServer(t, "")
	now := time.Now()
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	cases := []struct {
		name, target, body string
		at                 time.Time
		code, msgKey, msg  string
	}{
		{"no credentials", "secretsmanager.ListSecrets", `{}`, time.Time{}, "MissingAuthenticationTokenException", "message", "Missing Authentication Token"},
		{"unknown operation", "secretsmanager.FlyToTheMoon", `{}`, now, "UnknownOperationException", "", ""},
		{"missing target", "", `{}`, now, "UnknownOperationException", "", ""},
		{"malformed JSON", "secretsmanager.ListSecrets", `{"MaxResults":`, now, "SerializationException", "message", ""},
		{"wrong member type", "secretsmanager.ListSecrets", `{"MaxResults":"ten"}`, now, "SerializationException", "message", ""},
		{"validation", "secretsmanager.GetSecretValue", `{"SecretId":"x","VersionId":"abc"}`, now, "ValidationException", "message",
			"1 validation error detected: Value 'abc' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32"},
		{"missing required", "secretsmanager.GetSecretValue", `{}`, now, "ValidationException", "message",
			"1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"},
		{"missing token", "secretsmanager.CreateSecret", `{"Name":"raw","SecretString":"x"}`, now, "InvalidRequestException", "Message",
			"You must provide a ClientRequestToken value. We recommend a UUID-type value."},
		{"missing token before lookup", "secretsmanager.PutSecretValue", `{"SecretId":"nothing-here","SecretString":"x"}`, now, "InvalidRequestException", "Message",
			"You must provide a ClientRequestToken value. We recommend a UUID-type value."},
		{"not found", "secretsmanager.DescribeSecret", `{"SecretId":"nothing-here"}`, now, "ResourceNotFoundException", "Message", "Secrets Manager can't find the specified secret."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.rawCall(t, tc.target, tc.body, tc.at)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if body["__type"] != tc.code || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Errorf("__type %v, X-Amzn-ErrorType %q, want %s (body %v)", body["__type"], resp.Header.Get("X-Amzn-ErrorType"), tc.code, body)
			}
			if tc.msgKey != "" {
				got, ok := body[tc.msgKey].(string)
				if !ok || (tc.msg != "" && got != tc.msg) {
					t.Errorf("%s = %q, want %q (body %v)", tc.msgKey, got, tc.msg, body)
				}
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type %q", ct)
			}
			if !uuidRE.MatchString(resp.Header.Get("x-amzn-RequestId")) {
				t.Errorf("x-amzn-RequestId %q is not a UUID", resp.Header.Get("x-amzn-RequestId"))
			}
			if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !strings.HasSuffix(resp.Header.Get("Date"), " GMT") {
				t.Errorf("Date header %q", resp.Header.Get("Date"))
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	s := startServer(t, "")
	const layout = "20060102T150405Z"
	old := time.Now().UTC().Add(-10 * time.Minute)
	resp, body := s.rawCall(t, "secretsmanager.ListSecrets", `{}`, old)
	msg, _ := body["message"].(string)
	want := regexp.MustCompile(`^Signature expired: ` + old.Format(layout) + ` is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$`)
	if resp.StatusCode != 400 || body["__type"] != "InvalidSignatureException" || !want.MatchString(msg) {
		t.Fatalf("old request: %d %v", resp.StatusCode, body)
	}
	future := time.Now().UTC().Add(10 * time.Minute)
	resp, body = s.rawCall(t, "secretsmanager.ListSecrets", `{}`, future)
	msg, _ = body["message"].(string)
	want = regexp.MustCompile(`^Signature not yet current: ` + future.Format(layout) + ` is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$`)
	if resp.StatusCode != 400 || body["__type"] != "InvalidSignatureException" || !want.MatchString(msg) {
		t.Fatalf("future request: %d %v", resp.StatusCode, body)
	}
}

func TestResponseShape(t *testing.T) {
	s := startServer(t, "")
	now := time.Now()
	resp, body := s.rawCall(t, "secretsmanager.CreateSecret",
		`{"Name":"shape","ClientRequestToken":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}`, now)
	if resp.StatusCode != 200 || len(body) != 2 || body["Name"] != "shape" || body["VersionId"] != nil {
		t.Fatalf("CreateSecret without a value: %d %v (want only ARN and Name)", resp.StatusCode, body)
	}
	resp, body = s.rawCall(t, "secretsmanager.DescribeSecret", `{"SecretId":"shape"}`, now)
	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	if resp.StatusCode != 200 || len(body) != 4 || body["CreatedDate"] == nil || body["LastChangedDate"] == nil {
		t.Fatalf("DescribeSecret of a valueless secret has members %v, want ARN, Name, CreatedDate, LastChangedDate", keys)
	}
	if _, ok := body["CreatedDate"].(float64); !ok {
		t.Fatalf("CreatedDate %v is not an epoch-seconds number", body["CreatedDate"])
	}
	resp, body = s.rawCall(t, "secretsmanager.GetSecretValue", `{"SecretId":"shape"}`, now)
	if resp.StatusCode != 400 || body["Message"] != "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" {
		t.Fatalf("GetSecretValue of a valueless secret: %d %v", resp.StatusCode, body)
	}
	// The first PutSecretValue always gets AWSCURRENT, even with custom labels.
	resp, body = s.rawCall(t, "secretsmanager.PutSecretValue",
		`{"SecretId":"shape","SecretString":"v","VersionStages":["MINE"],"ClientRequestToken":"aaaaaaaa-bbbb-cccc-dddd-ffffffffffff"}`, now)
	stages, _ := json.Marshal(body["VersionStages"])
	if resp.StatusCode != 200 || !bytes.Equal(stages, []byte(`["MINE","AWSCURRENT"]`)) {
		t.Fatalf("first PutSecretValue with custom labels: %d %v", resp.StatusCode, body)
	}
}
