package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigFile(t *testing.T) {
	c := DefaultConfig()
	err := c.parse([]byte(`# the AWS agent's format
log_level = "DEBUG"
http_port = "2775"
ttl_seconds = 60  # a comment
cache_size = "10"
ssrf_headers = ["X-Custom-Token", "X-Aws-Parameters-Secrets-Token"]
ssrf_env_variables = ["MY_TOKEN"]
path_prefix = "/secrets/"
max_conn = "5"
region = "eu-west-1"
ignore_transient_errors = false
validate_credentials = false
log_to_file = false
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPPort != 2775 || c.TTL != time.Minute || c.CacheSize != 10 || c.MaxConn != 5 || c.Region != "eu-west-1" ||
		c.PathPrefix != "/secrets/" || c.IgnoreTransientErrors || c.ValidateCredentials || c.LogLevel != "DEBUG" ||
		strings.Join(c.SSRFHeaders, ",") != "X-Custom-Token,X-Aws-Parameters-Secrets-Token" || c.SSRFEnvVariables[0] != "MY_TOKEN" {
		t.Errorf("parsed: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"ttl = 5", "http_port 5", "ssrf_headers = \"x\"", "region = x"} {
		c := DefaultConfig()
		if err := c.parse([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c := DefaultConfig()
	c.HTTPAddress = "0.0.0.0"
	c.HTTPPort = 80
	c.TTL = 2 * time.Hour
	c.CacheSize = 0
	c.PathPrefix = "v1"
	err := c.Validate()
	for _, w := range []string{"loopback", "http_port", "ttl", "cache_size", "path_prefix"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("want a %s problem in %v", w, err)
		}
	}
}

func TestToken(t *testing.T) {
	c := DefaultConfig()
	env := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if _, err := c.Token(lookup); err == nil {
		t.Error("no variable: want an error")
	}
	env["AWS_SESSION_TOKEN"] = "session"
	if tok, _ := c.Token(lookup); tok != "session" {
		t.Errorf("got %q", tok)
	}
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["AWS_TOKEN"] = "file://" + file // AWS_TOKEN comes first
	if tok, _ := c.Token(lookup); tok != "from-file" {
		t.Errorf("got %q", tok)
	}
}

func TestParseQuery(t *testing.T) {
	q, err := parseQuery("secretId=a%2Fb&versionStage=AWSPREVIOUS&refreshNow=TRUE", true)
	if err != nil || q.secretID != "a/b" || q.versionStage != "AWSPREVIOUS" || !q.refreshNow {
		t.Errorf("%+v %v", q, err)
	}
	for raw, want := range map[string]string{
		"secretId=x&abc=1":        "unknown parameter: abc",
		"versionId=v":             "missing parameter secretId",
		"secretId=x&refreshNow=2": "invalid refreshNow value",
	} {
		_, err := parseQuery(raw, true)
		if he, ok := err.(*httpError); !ok || he.status != 400 || he.body != want {
			t.Errorf("%s: %v, want 400 %q", raw, err, want)
		}
	}
	if _, err := parseQuery("secretId=x", false); err == nil {
		t.Error("secretId on a path request: want unknown parameter")
	}
}

func TestErrBody(t *testing.T) {
	if got := errBody("ResourceNotFoundException", `can't "find"`); got != `{"__type":"ResourceNotFoundException", "message":"can't \"find\""}` {
		t.Errorf("got %s", got)
	}
	if got := errBody("InternalFailure", "x"); got != `{"__type":"InternalFailure"}` {
		t.Errorf("got %s", got)
	}
}
