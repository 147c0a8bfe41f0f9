package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

const agentToken = "test-ssrf-token-0123456789"

type agentProc struct {
	*proc
	url string
}

func startAgent(t *testing.T, s *server, args ...string) *agentProc {
	t.Helper()
	p := startCoffer(t, s.clientEnv(t, "AWS_TOKEN="+agentToken, "AWS_MAX_ATTEMPTS=1"),
		append([]string{"agent", "--port", "0"}, args...)...)
	line := p.waitLine(t, "coffer: agent listening on ")
	return &agentProc{p, strings.TrimPrefix(line, "coffer: agent listening on ")}
}

// get sends GET path to the agent with the given token ("" for none).
func (a *agentProc) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Aws-Parameters-Secrets-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type agentOutput struct {
	ARN           string
	Name          string
	VersionId     string
	SecretString  *string
	SecretBinary  []byte
	VersionStages []string
	CreatedDate   string
}

func (a *agentProc) value(t *testing.T, path string) agentOutput {
	t.Helper()
	code, body := a.get(t, path, agentToken)
	if code != 200 {
		t.Fatalf("GET %s: status %d: %s", path, code, body)
	}
	var o agentOutput
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatalf("GET %s: not the agent's JSON: %v", path, err)
	}
	return o
}

func getPath(id string, extra ...string) string {
	q := url.Values{"secretId": {id}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/secretsmanager/get?" + q.Encode()
}

func TestAgentSSRFAndFormat(t *testing.T) {
	s := startServer(t, "")
	sd := seed(t, s)
	a := startAgent(t, s)

	if code, body := a.get(t, getPath("app/plain"), ""); code != 403 || body != "Bad Token" {
		t.Errorf("no token: %d %q, want 403 \"Bad Token\"", code, body)
	}
	if code, _ := a.get(t, getPath("app/plain"), "wrong"); code != 403 {
		t.Errorf("wrong token: %d, want 403", code)
	}
	if code, body := a.get(t, "/ping", ""); code != 200 || body != "healthy" {
		t.Errorf("/ping: %d %q", code, body)
	}

	// The body is GetSecretValue's JSON with the AWS agent's member order.
	code, body := a.get(t, getPath("app/plain"), agentToken)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	keys := []string{`"ARN":`, `"Name":`, `"VersionId":`, `"SecretString":`, `"VersionStages":`, `"CreatedDate":`}
	last := -1
	for _, k := range keys {
		i := strings.Index(body, k)
		if i <= last {
			t.Fatalf("member %s missing or out of order in %d-byte body", k, len(body))
		}
		last = i
	}
	o := a.value(t, getPath("app/plain"))
	want, err := s.client(testRegion).GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/plain")})
	if err != nil {
		t.Fatal(err)
	}
	if o.ARN != aws.ToString(want.ARN) || o.Name != "app/plain" || o.VersionId != aws.ToString(want.VersionId) ||
		aws.ToString(o.SecretString) != "plain-v2" || strings.Join(o.VersionStages, ",") != "AWSCURRENT" || o.CreatedDate == "" {
		t.Errorf("agent output differs from GetSecretValue (name %q, version %q, stages %v)", o.Name, o.VersionId, o.VersionStages)
	}

	if o := a.value(t, getPath("app/plain", "versionStage", "AWSPREVIOUS")); aws.ToString(o.SecretString) != "plain-v1" {
		t.Error("versionStage=AWSPREVIOUS: wrong value")
	}
	if o := a.value(t, getPath("app/plain", "versionId", sd.plainVersion)); aws.ToString(o.SecretString) != "plain-v1" || o.VersionId != sd.plainVersion {
		t.Error("versionId: wrong value")
	}
	if o := a.value(t, "/v1/app/plain?versionStage=AWSPREVIOUS"); aws.ToString(o.SecretString) != "plain-v1" {
		t.Error("/v1/ path: wrong value")
	}
	if o := a.value(t, getPath("app/cert")); o.SecretString != nil || len(o.SecretBinary) == 0 {
		t.Error("binary secret: want SecretBinary only")
	}

	if code, body := a.get(t, getPath("app/nope"), agentToken); code != 400 || !strings.Contains(body, `"__type":"ResourceNotFoundException"`) {
		t.Errorf("missing secret: %d %s", code, body)
	}
	if code, body := a.get(t, "/secretsmanager/get?secretId=x&bogus=1", agentToken); code != 400 || body != "unknown parameter: bogus" {
		t.Errorf("unknown parameter: %d %q", code, body)
	}
	if code, body := a.get(t, "/secretsmanager/get", agentToken); code != 400 || body != "missing parameter secretId" {
		t.Errorf("no secretId: %d %q", code, body)
	}
	if code, _ := a.get(t, "/other", agentToken); code != 404 {
		t.Errorf("unknown path: %d, want 404", code)
	}
	req, _ := http.NewRequest(http.MethodPost, a.url+getPath("app/plain"), nil)
	req.Header.Set("X-Aws-Parameters-Secrets-Token", agentToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST: %v %v, want 405", resp, err)
	} else {
		resp.Body.Close()
	}
	if strings.Contains(a.stderr(), "plain-v") {
		t.Error("the agent logged a secret value")
	}
}

func TestAgentTTLAndRefreshNow(t *testing.T) {
	s := startServer(t, "")
	seed(t, s)
	c := s.client(testRegion)
	a := startAgent(t, s, "--ttl", "1s")
	put := func(v string) {
		t.Helper()
		if _, err := c.PutSecretValue(ctx(t), &secretsmanager.PutSecretValueInput{
			SecretId: aws.String("app/plain"), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	val := func(extra ...string) string {
		t.Helper()
		return aws.ToString(a.value(t, getPath("app/plain", extra...)).SecretString)
	}

	if v := val(); v != "plain-v2" {
		t.Fatalf("first read: wrong value")
	}
	start := time.Now()
	put("plain-v3")
	if v := val(); v != "plain-v2" && time.Since(start) < time.Second {
		t.Errorf("within the TTL the cached value is served")
	}
	if v := val("refreshNow", "true"); v != "plain-v3" {
		t.Errorf("refreshNow=true: the cache was not bypassed")
	}
	if v := val(); v != "plain-v3" {
		t.Errorf("after refreshNow: the cache holds the old value")
	}

	put("plain-v4")
	time.Sleep(1100 * time.Millisecond)
	if v := val(); v != "plain-v4" {
		t.Errorf("past the TTL: the stale value was served")
	}
	// An unchanged secret is still served (after DescribeSecret) past the TTL.
	time.Sleep(1100 * time.Millisecond)
	if v := val(); v != "plain-v4" {
		t.Errorf("past the TTL, unchanged: wrong value")
	}

	// Server unreachable: like the AWS agent (ignore_transient_errors), the
	// cached value is served past the TTL; refreshNow reports the failure.
	s.Kill()
	time.Sleep(1100 * time.Millisecond)
	if v := val(); v != "plain-v4" {
		t.Errorf("server down, past the TTL: the cached value was not served")
	}
	if code, body := a.get(t, getPath("app/plain", "refreshNow", "true"), agentToken); code != 502 || !strings.Contains(body, "ConnectionError") {
		t.Errorf("server down, refreshNow: %d %s, want 502 ConnectionError", code, body)
	}
}
