package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerRefusesUnparseableEnvironment: a typed setting in the
// environment that does not parse stops the server, naming it and quoting
// the value, before anything is opened.
func TestServerRefusesUnparseableEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"COFFER_LEASE_TTL", "soon"},
		{"COFFER_AUDIT_DIGEST_INTERVAL", "-1m"},
		{"COFFER_AUDIT", "sometimes"},
		{"COFFER_AUDIT_STDOUT", "maybe"},
		{"COFFER_AUDIT_SYNC", "sometimes"},
		{"COFFER_AUDIT_SYNC", "0"},
		{"COFFER_AUDIT_SYNC", "-5ms"},
		{"COFFER_AUDIT_SYNC", "2s"},           // above the 1s bound
		{"COFFER_AUDIT_SYNC", "1.000000001s"}, // just above it
		{"COFFER_AUDIT_SYNC", "Always"},       // the keyword is exact
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.name, tc.value)
			dir := filepath.Join(t.TempDir(), "data")
			var stdout, stderr bytes.Buffer
			code := Run([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dir}, &stdout, &stderr)
			if code == 0 {
				t.Fatalf("coffer server with %s=%s exited 0", tc.name, tc.value)
			}
			if !strings.Contains(stderr.String(), tc.name) {
				t.Errorf("the error does not name %s:\n%s", tc.name, stderr.String())
			}
			if !strings.Contains(stderr.String(), `"`+tc.value+`"`) {
				t.Errorf("the error does not quote the value %q:\n%s", tc.value, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("the server printed to stdout before refusing: %s", stdout.String())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the server made its data directory before refusing (stat: %v)", err)
			}
		})
	}
}

// TestEnvAuditSyncFlag: --audit-sync takes what COFFER_AUDIT_SYNC takes;
// a bad value is refused with the value quoted before the server starts,
// a good one is accepted (checked with --help, which parses the flags and
// starts nothing), and server --help documents the flag with its default
// and its environment variable.
func TestEnvAuditSyncFlag(t *testing.T) {
	for _, v := range []string{"sometimes", "0", "-5ms", "2s", "1.000000001s", "10"} {
		t.Run("refuses="+v, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			var stdout, stderr bytes.Buffer
			code := Run([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dir, "--audit-sync=" + v}, &stdout, &stderr)
			if code == 0 {
				t.Fatalf("coffer server --audit-sync=%s exited 0", v)
			}
			msg := stderr.String()
			if !strings.Contains(msg, `"`+v+`"`) || !strings.Contains(msg, "--audit-sync") {
				t.Errorf("the error does not quote %q and name --audit-sync:\n%s", v, msg)
			}
			if !strings.HasPrefix(msg, "coffer: error: ") {
				t.Errorf("the error is not in coffer's form:\n%s", msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("the server printed to stdout before refusing: %s", stdout.String())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the server made its data directory before refusing (stat: %v)", err)
			}
		})
	}
	for _, v := range []string{"always", "1ns", "10ms", "1s"} {
		t.Run("accepts="+v, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Run([]string{"server", "--audit-sync", v, "--help"}, &stdout, &stderr); code != 0 {
				t.Fatalf("coffer server --audit-sync %s --help exited %d:\n%s", v, code, stderr.String())
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if code := Run([]string{"server", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("coffer server --help exited %d:\n%s", code, stderr.String())
	}
	var line string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if strings.Contains(l, "--audit-sync") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("coffer server --help does not list --audit-sync:\n%s", stdout.String())
	}
	for _, want := range []string{"always", "COFFER_AUDIT_SYNC", "(default always)"} {
		if !strings.Contains(line, want) {
			t.Errorf("the --audit-sync line of the help lacks %q:\n%s", want, line)
		}
	}
}
