package function

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/rotation"
)

var event = rotation.Event{
	SecretID:           "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf",
	ClientRequestToken: "7c2b4a0e-5b7d-4c0e-9f43-2a8d1f0e6b11",
	Step:               rotation.StepCreate,
}

func sh(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	return p
}

func TestExecSuccessEventAndEnvironment(t *testing.T) {
	t.Setenv("COFFER_LEAK_CANARY", "must-not-reach-the-function")
	t.Setenv("AWS_PROFILE", "coffer-own-profile")
	out := t.TempDir()
	f := &ExecFunc{
		Argv: []string{sh(t), "-c", `cat > "$OUT/event.json" && env > "$OUT/env" && pwd > "$OUT/pwd" && echo "step done" >&2`},
		Env:  map[string]string{"OUT": out, "EXCLUDE_CHARACTERS": "/@\"'\\", "PATH": "/evil"},
		Environ: func(_ context.Context, ev rotation.Event) ([]string, error) {
			if ev != event {
				t.Errorf("Environ got event %+v", ev)
			}
			return []string{"AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=ASIATEST"}, nil
		},
	}
	log, err := f.Invoke(t.Context(), event)
	if err != nil {
		t.Fatalf("Invoke: %v (log %q)", err, log)
	}
	if log != "step done\n" {
		t.Errorf("log %q, want the function's stderr", log)
	}
	b, err := os.ReadFile(filepath.Join(out, "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got rotation.Event
	if err := json.Unmarshal(b, &got); err != nil || got != event {
		t.Errorf("stdin %s: want the event %+v (%v)", b, event, err)
	}
	if !strings.Contains(string(b), `"SecretId":`) || !strings.Contains(string(b), `"ClientRequestToken":`) || !strings.Contains(string(b), `"Step":"createSecret"`) {
		t.Errorf("stdin %s: not Lambda's event shape", b)
	}
	envb, err := os.ReadFile(filepath.Join(out, "env"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(envb)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	var keys []string
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// sh itself may add PWD, SHLVL and _.
	allowed := map[string]bool{"PATH": true, "HOME": true, "OUT": true, "EXCLUDE_CHARACTERS": true,
		"AWS_ENDPOINT_URL": true, "AWS_REGION": true, "AWS_ACCESS_KEY_ID": true, "PWD": true, "SHLVL": true, "_": true, "OLDPWD": true}
	for _, k := range keys {
		if !allowed[k] {
			t.Errorf("unexpected variable %s in the function's environment", k)
		}
	}
	if env["PATH"] != hostPath() {
		t.Errorf("PATH %q, want coffer's %q (a function may not override it)", env["PATH"], hostPath())
	}
	if env["AWS_ACCESS_KEY_ID"] != "ASIATEST" || env["AWS_REGION"] != "us-east-1" || env["EXCLUDE_CHARACTERS"] != "/@\"'\\" {
		t.Errorf("environment misses Environ's or the function's variables: %v", keys)
	}
	home := env["HOME"]
	pwd, _ := os.ReadFile(filepath.Join(out, "pwd"))
	if home == "" || strings.TrimSpace(string(pwd)) != home {
		t.Errorf("HOME %q, working directory %q: want the same fresh directory", home, pwd)
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Errorf("HOME %s still exists after the step (%v)", home, err)
	}
}

func TestExecFailureKeepsStderr(t *testing.T) {
	f := &ExecFunc{Argv: []string{sh(t), "-c", `cat >/dev/null; echo "cannot connect to db" >&2; echo out-is-dropped; exit 3`}}
	log, err := f.Invoke(t.Context(), event)
	if err == nil {
		t.Fatal("Invoke of a function exiting 3: no error")
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("error %q, want it to name exit status 3", err)
	}
	if log != "cannot connect to db\n" {
		t.Errorf("log %q, want stderr only", log)
	}
}

func TestExecMissingCommand(t *testing.T) {
	f := &ExecFunc{Argv: []string{filepath.Join(t.TempDir(), "no-such-program")}}
	if _, err := f.Invoke(t.Context(), event); err == nil {
		t.Fatal("Invoke of a missing program: no error")
	}
}

func TestExecLogIsBounded(t *testing.T) {
	f := &ExecFunc{Argv: []string{sh(t), "-c", `i=0; while [ $i -lt 3000 ]; do echo "line $i of a noisy function......................" >&2; i=$((i+1)); done; echo LAST >&2`}}
	log, err := f.Invoke(t.Context(), event)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) > MaxLog+64 || !strings.HasSuffix(log, "LAST\n") || !strings.HasPrefix(log, "[earlier output dropped]") {
		t.Errorf("log of %d bytes (prefix %q): want the last %d bytes, marked as cut", len(log), log[:40], MaxLog)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	f := &ExecFunc{
		Argv:    []string{sh(t), "-c", `sleep 30 & echo $! > "$PIDFILE"; echo started >&2; wait`},
		Env:     map[string]string{"PIDFILE": pidFile},
		Timeout: 300 * time.Millisecond,
	}
	start := time.Now()
	log, err := f.Invoke(t.Context(), event)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("Invoke past its timeout: error %v, want a timeout", err)
	}
	if took > 2*time.Second {
		t.Errorf("Invoke returned after %s, want soon after the 300ms timeout", took)
	}
	if log != "started\n" {
		t.Errorf("log %q, want what was written before the kill", log)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("the function's child %d survives the timeout", pid)
	}
}
