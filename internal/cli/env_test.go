package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestServerRefusesUnparseableEnvironment: a typed setting in the
// environment that does not parse stops the server, naming it, before
// anything is opened.
func TestServerRefusesUnparseableEnvironment(t *testing.T) {
	for name, value := range map[string]string{
		"COFFER_LEASE_TTL":             "soon",
		"COFFER_AUDIT_DIGEST_INTERVAL": "-1m",
		"COFFER_AUDIT":                 "sometimes",
		"COFFER_AUDIT_STDOUT":          "maybe",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := Run([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dir}, &stdout, &stderr)
			if code == 0 {
				t.Fatalf("coffer server with %s=%s exited 0", name, value)
			}
			if !strings.Contains(stderr.String(), name) {
				t.Errorf("the error does not name %s:\n%s", name, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("the server printed to stdout before refusing: %s", stdout.String())
			}
		})
	}
}
