package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// clientEnv is the environment of a coffer client process (run, plan,
// render, agent) pointed at s through the standard AWS variables only.
func (s *server) clientEnv(t *testing.T, extra ...string) []string {
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_ACCESS_KEY_ID=" + testKeyID,
		"AWS_SECRET_ACCESS_KEY=" + testSecretKey,
		"AWS_REGION=" + testRegion,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
	return append(env, extra...)
}

// coffer runs the coffer binary to completion.
func coffer(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("coffer %s did not finish in time; stderr:\n%s", args[0], e.String())
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

type seeded struct {
	plainVersion string // version id of the first value of app/plain
	jsonPrev     string // version id of the first value of app/db
}

// seed creates the secrets the tests read.
func seed(t *testing.T, s *server) seeded {
	t.Helper()
	c := s.client(testRegion)
	cx := ctx(t)
	var out seeded
	create := func(name string, str *string, bin []byte) string {
		o, err := c.CreateSecret(cx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: str, SecretBinary: bin})
		if err != nil {
			t.Fatalf("CreateSecret %s: %v", name, err)
		}
		return aws.ToString(o.VersionId)
	}
	put := func(name, v string) string {
		o, err := c.PutSecretValue(cx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(v)})
		if err != nil {
			t.Fatalf("PutSecretValue %s: %v", name, err)
		}
		return aws.ToString(o.VersionId)
	}
	out.plainVersion = create("app/plain", aws.String("plain-v1"), nil)
	put("app/plain", "plain-v2")
	create("user@example.com", aws.String("at-sign-value"), nil)
	out.jsonPrev = create("app/db", aws.String(`{"user":"old","password":"old-pw"}`), nil)
	put("app/db", `{"user":"admin","password":"s3cr=t pw","port":5432,"nested":{"host":"db.internal"},"a.b":"dotted"}`)
	// A binary secret holding base64 text, as dsops's base64_decode expects.
	create("app/cert", nil, []byte(base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERT-----\nMIIB\n"))))
	return out
}

// printEnv is a child that prints the named variables as JSON.
func printEnv(names ...string) []string {
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf(`printf '%%s\0' "$%s"`, n))
	}
	return []string{"sh", "-c", strings.Join(parts, "; ")}
}

func splitNUL(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
}

func TestRunReferenceForms(t *testing.T) {
	s := startServer(t, "")
	sd := seed(t, s)
	arn := func(name string) string {
		o, err := s.client(testRegion).DescribeSecret(ctx(t), &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(o.ARN)
	}
	cases := []struct{ ref, want string }{
		{"app/plain", "plain-v2"},
		{"app/plain@AWSCURRENT", "plain-v2"},
		{"app/plain@AWSPREVIOUS", "plain-v1"},
		{"app/plain@stage:AWSPREVIOUS", "plain-v1"},
		{"app/plain@version:" + sd.plainVersion, "plain-v1"},
		{"app/db#password", "s3cr=t pw"},
		{"app/db#.password", "s3cr=t pw"},
		{"app/db#port", "5432"},
		{"app/db#nested.host", "db.internal"},
		{`app/db#a\.b`, "dotted"},
		{"app/db#nested", `{"host":"db.internal"}`},
		{"app/db@AWSPREVIOUS#password", "old-pw"},
		{"app/db@version:" + sd.jsonPrev + "#user", "old"},
		{"user@example.com", "at-sign-value"},
		{arn("app/db") + "#user", "admin"},
		{arn("app/plain") + "@AWSPREVIOUS", "plain-v1"},
		{arn("user@example.com"), "at-sign-value"},
	}
	args := []string{"run"}
	var names []string
	for i, c := range cases {
		name := fmt.Sprintf("V%d", i)
		names = append(names, name)
		args = append(args, "--env", name+"="+c.ref)
	}
	args = append(args, "--")
	args = append(args, printEnv(names...)...)
	out, errOut, code := coffer(t, s.clientEnv(t), args...)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, errOut)
	}
	got := splitNUL(out)
	if len(got) != len(cases) {
		t.Fatalf("got %d values, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("%s: got a different value (len %d, want len %d)", c.ref, len(got[i]), len(c.want))
		}
	}
}

func TestRunMissingFailsBeforeStart(t *testing.T) {
	s := startServer(t, "")
	seed(t, s)
	marker := filepath.Join(t.TempDir(), "started")
	cases := []struct {
		name, ref, wantMsg string
	}{
		{"secret", "app/nope", `secret "app/nope" not found`},
		{"field", "app/db#missing", `JSON field "missing" not found`},
		{"stage", "app/plain@stage:NOPE", "not found"},
		{"not json", "app/plain#x", "not JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := coffer(t, s.clientEnv(t), "run", "--env", "OK=app/db#password", "--env", "BAD="+c.ref,
				"--", "sh", "-c", "touch "+marker)
			if code == 0 {
				t.Fatal("exit code 0, want a failure")
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the command was started")
			}
			if !strings.Contains(errOut, "BAD ("+c.ref+")") || !strings.Contains(errOut, c.wantMsg) {
				t.Errorf("stderr does not name the variable, the reference and %q:\n%s", c.wantMsg, errOut)
			}
			for _, v := range []string{"s3cr=t pw", "plain-v2", "admin"} {
				if strings.Contains(errOut, v) {
					t.Errorf("stderr contains a secret value")
				}
			}
		})
	}
}

func TestRunExitCodesAndSignals(t *testing.T) {
	s := startServer(t, "")
	seed(t, s)
	env := s.clientEnv(t)

	if _, _, code := coffer(t, env, "run", "--env", "P=app/plain", "--", "sh", "-c", "exit 42"); code != 42 {
		t.Errorf("exit code %d, want 42", code)
	}
	if _, _, code := coffer(t, env, "run", "--env", "P=app/plain", "--", "sh", "-c", "kill -KILL $$"); code != 137 {
		t.Errorf("exit code %d for a child killed by SIGKILL, want 137", code)
	}

	// Forwarding: the child reports each signal it receives.
	script := `trap 'echo got-usr1' USR1; trap 'echo got-usr2' USR2; trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done`
	p := startCoffer(t, env, "run", "--env", "P=app/plain", "--", "sh", "-c", script)
	p.waitLine(t, "ready")
	_ = p.cmd.Process.Signal(syscall.SIGUSR1)
	p.waitLine(t, "got-usr1")
	_ = p.cmd.Process.Signal(syscall.SIGUSR2)
	p.waitLine(t, "got-usr2")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLine(t, "got-term")
	if code := p.wait(t); code != 7 {
		t.Errorf("exit code %d after SIGTERM, want the child's 7", code)
	}
}

func TestRunWatchRestartsOnRotation(t *testing.T) {
	s := startServer(t, "")
	seed(t, s)
	c := s.client(testRegion)
	script := `trap 'exit 0' TERM; echo "value=$PW"; while :; do sleep 0.05; done`
	p := startCoffer(t, s.clientEnv(t), "run", "--watch", "--watch-interval", "200ms",
		"--env", "PW=app/db#password", "--", "sh", "-c", script)
	p.waitLine(t, "value=s3cr=t pw")

	// A change to another field must not restart: the variable is the same.
	if _, err := c.PutSecretValue(ctx(t), &secretsmanager.PutSecretValueInput{SecretId: aws.String("app/db"),
		SecretString: aws.String(`{"user":"other","password":"s3cr=t pw"}`)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(800 * time.Millisecond)
	if strings.Count(p.output(), "value=") != 1 {
		t.Fatalf("the child was restarted although its variables did not change:\n%s", p.output())
	}

	if _, err := c.PutSecretValue(ctx(t), &secretsmanager.PutSecretValueInput{SecretId: aws.String("app/db"),
		SecretString: aws.String(`{"user":"admin","password":"rotated-pw"}`)}); err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, "value=rotated-pw")
	if !strings.Contains(p.stderr(), "restarting") {
		t.Errorf("no restart notice on stderr:\n%s", p.stderr())
	}
	if strings.Contains(p.stderr(), "rotated-pw") {
		t.Error("stderr contains a secret value")
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

func TestRunWatchSignal(t *testing.T) {
	s := startServer(t, "")
	seed(t, s)
	script := `trap 'echo got-usr1' USR1; trap 'exit 0' TERM; echo "start=$P"; while :; do sleep 0.05; done`
	p := startCoffer(t, s.clientEnv(t), "run", "--watch", "--watch-interval", "200ms", "--watch-signal", "USR1",
		"--env", "P=app/plain", "--", "sh", "-c", script)
	p.waitLine(t, "start=plain-v2")
	if _, err := s.client(testRegion).PutSecretValue(ctx(t), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("app/plain"), SecretString: aws.String("plain-v3")}); err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, "got-usr1")
	if strings.Count(p.output(), "start=") != 1 {
		t.Errorf("the child was restarted, want only a signal:\n%s", p.output())
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t)
}

const dsopsYAML = `version: 1
secretStores:
  coffer:
    type: aws.secretsmanager
    region: us-east-1
    endpoint: %s
    timeout_ms: 10000
envs:
  production:
    DB_PASSWORD:
      from:
        store: coffer
        key: app/db
      transform: json_extract:.password
    DB_HOST:
      from: { store: coffer, key: "app/db#.nested.host" }
    CERT:
      from:
        store: coffer
        key: app/cert
      transform: base64_decode
    OLD_PLAIN:
      from:
        store: coffer
        key: app/plain
        version: AWSPREVIOUS
    FIRST_PLAIN:
      from:
        store: coffer
        key: app/plain
        version: %s
    URI_FORM:
      from: store://coffer/app/plain?version=AWSCURRENT
    GREETING:
      literal: hello
    MAYBE:
      from: { store: coffer, key: app/absent }
      optional: true
`

func writeDsops(t *testing.T, s *server, sd seeded) string {
	path := filepath.Join(t.TempDir(), "dsops.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, dsopsYAML, s.URL, sd.plainVersion), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunDsopsConfig(t *testing.T) {
	s := startServer(t, "")
	sd := seed(t, s)
	cfg := writeDsops(t, s, sd)
	// The store's endpoint comes from the file: no AWS_ENDPOINT_URL here.
	env := s.clientEnv(t)
	env = slicesDelete(env, "AWS_ENDPOINT_URL=")

	names := []string{"DB_PASSWORD", "DB_HOST", "CERT", "OLD_PLAIN", "FIRST_PLAIN", "URI_FORM", "GREETING", "MAYBE"}
	args := append([]string{"run", "--config", cfg, "--env", "production", "--"}, printEnv(names...)...)
	out, errOut, code := coffer(t, env, args...)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, errOut)
	}
	want := []string{"s3cr=t pw", "db.internal", "-----BEGIN CERT-----\nMIIB\n", "plain-v1", "plain-v1", "plain-v2", "hello", ""}
	got := splitNUL(out)
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("%s: wrong value", names[i])
		}
	}

	// plan lists sources, never values.
	out, errOut, code = coffer(t, env, "plan", "--config", cfg, "--env", "production")
	if code != 0 {
		t.Fatalf("plan: exit code %d; stderr:\n%s", code, errOut)
	}
	for _, w := range []string{"DB_PASSWORD", "coffer: app/db (AWSCURRENT) | json_extract:.password", "stage AWSPREVIOUS",
		"version " + sd.plainVersion, "CERT", "base64_decode", "GREETING", "literal"} {
		if !strings.Contains(out, w) {
			t.Errorf("plan output lacks %q:\n%s", w, out)
		}
	}
	for _, v := range []string{"s3cr=t pw", "plain-v1", "hello", "MIIB"} {
		if strings.Contains(out+errOut, v) {
			t.Errorf("plan output shows a value")
		}
	}

	// render needs --out and writes mode 0600.
	if _, errOut, code := coffer(t, env, "render", "--config", cfg, "--env", "production", "--format", "json"); code == 0 || !strings.Contains(errOut, "--out") {
		t.Errorf("render without --out: code %d, stderr:\n%s", code, errOut)
	}
	for _, format := range []string{"dotenv", "json", "yaml"} {
		file := filepath.Join(t.TempDir(), "out."+format)
		if err := os.WriteFile(file, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, errOut, code := coffer(t, env, "render", "--config", cfg, "--env", "production", "--format", format, "--out", file); code != 0 {
			t.Fatalf("render %s: code %d, stderr:\n%s", format, code, errOut)
		}
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("render %s: mode %v, want 0600", format, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(file)
		if format == "json" {
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("render json: not a JSON object of strings")
			}
			if m["DB_PASSWORD"] != "s3cr=t pw" || m["CERT"] != want[2] || len(m) != 7 {
				t.Errorf("render json: wrong content (%d keys)", len(m))
			}
		} else if !bytes.Contains(b, []byte("DB_PASSWORD")) {
			t.Errorf("render %s: no DB_PASSWORD", format)
		}
	}
	if strings.Contains(out, "s3cr") {
		t.Error("render printed a value")
	}
}

func TestDsopsRefusals(t *testing.T) {
	s := startServer(t, "")
	dir := t.TempDir()
	cases := []struct{ name, yaml, want string }{
		{"store type", "secretStores:\n  v:\n    type: hashicorp.vault\nenvs:\n  e:\n    X:\n      from: {store: v, key: k}\n",
			`store type "hashicorp.vault" is not supported`},
		{"transform", "secretStores:\n  a:\n    type: aws.secretsmanager\nenvs:\n  e:\n    X:\n      from: {store: a, key: k}\n      transform: yaml_extract:.x\n",
			`unknown transform "yaml_extract:.x"`},
		{"env", "secretStores:\n  a:\n    type: aws.secretsmanager\nenvs:\n  dev:\n    X:\n      from: {store: a, key: k}\n",
			`environment "e" not found (the file defines: dev)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"run", "plan"} {
				args := []string{cmd, "--config", path, "--env", "e"}
				if cmd == "run" {
					args = append(args, "--", "true")
				}
				_, errOut, code := coffer(t, s.clientEnv(t), args...)
				if code == 0 || !strings.Contains(errOut, c.want) {
					t.Errorf("%s: code %d, stderr lacks %q:\n%s", cmd, code, c.want, errOut)
				}
			}
		})
	}
}

func slicesDelete(env []string, prefix string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// proc is a long-running coffer client process whose output is watched.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	err  strings.Builder
	line chan string
	done chan struct{}
}

func startCoffer(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binPath, args...), line: make(chan string, 100), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.WaitDelay = 5 * time.Second // a child left behind must not hold the pipes forever
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.copyLines(stdout, &p.out, p.line) })
	wg.Go(func() { p.copyLines(stderr, &p.err, nil) })
	go func() { wg.Wait(); _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM) // forwarded to the child
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
	})
	return p
}

// copyLines appends r's lines to to and offers each to lines (nil: none)
// without waiting for a reader.
func (p *proc) copyLines(r io.Reader, to *strings.Builder, lines chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p.mu.Lock()
		to.WriteString(sc.Text() + "\n")
		p.mu.Unlock()
		select {
		case lines <- sc.Text():
		default:
		}
	}
}

func (p *proc) output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }
func (p *proc) stderr() string { p.mu.Lock(); defer p.mu.Unlock(); return p.err.String() }

// waitLine waits for a stdout line equal to want (or starting with it).
func (p *proc) waitLine(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case l := <-p.line:
			if strings.HasPrefix(l, want) {
				return l
			}
		case <-p.done:
			for {
				select {
				case l := <-p.line:
					if strings.HasPrefix(l, want) {
						return l
					}
				default:
					t.Fatalf("process exited before printing %q; stdout:\n%s\nstderr:\n%s", want, p.output(), p.stderr())
				}
			}
		case <-deadline:
			t.Fatalf("no line %q in time; stdout:\n%s\nstderr:\n%s", want, p.output(), p.stderr())
		}
	}
}

func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("process did not exit; stderr:\n%s", p.stderr())
	}
	return p.cmd.ProcessState.ExitCode()
}

// TestRunDsopsAssumeRole: a store with role_arn and external_id reads
// through an STS AssumeRole session; the wrong external id is refused
// before COMMAND starts.
func TestRunDsopsAssumeRole(t *testing.T) {
	cli := need(t, "/usr/bin/aws", "aws")
	s := startServer(t, "")
	seed(t, s)
	root := awsAs{t: t, cli: cli, url: s.URL, keyID: testKeyID, secret: testSecretKey, principalLabel: "root"}
	dev := newUser(root, "dev", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	root.ok("iam", "create-role", "--role-name", "app-reader", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/dev"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-42"}}}]}`)
	root.ok("iam", "put-role-policy", "--role-name", "app-reader", "--policy-name", "read", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:*:*:secret:app/*"}]}`)

	write := func(externalID string) string {
		path := filepath.Join(t.TempDir(), "dsops.yaml")
		doc := fmt.Sprintf(`secretStores:
  coffer:
    type: aws.secretsmanager
    region: us-east-1
    endpoint: %s
    role_arn: arn:aws:iam::123456789012:role/app-reader
    external_id: %s
envs:
  production:
    DB_PASSWORD:
      from: {store: coffer, key: app/db}
      transform: json_extract:.password
`, s.URL, externalID)
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	env := s.clientEnv(t)
	env = slicesDelete(env, "AWS_ACCESS_KEY_ID=")
	env = slicesDelete(env, "AWS_SECRET_ACCESS_KEY=")
	env = append(env, "AWS_ACCESS_KEY_ID="+dev.keyID, "AWS_SECRET_ACCESS_KEY="+dev.secret)

	out, errOut, code := coffer(t, env, append([]string{"run", "--config", write("ext-42"), "--env", "production", "--"}, printEnv("DB_PASSWORD")...)...)
	if code != 0 || splitNUL(out)[0] != "s3cr=t pw" {
		t.Fatalf("through the role: exit code %d; stderr:\n%s", code, errOut)
	}
	// dev itself may not read the secret: the value came through the role.
	dev.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "app/db"}, "AccessDeniedException")

	_, errOut, code = coffer(t, env, append([]string{"run", "--config", write("wrong"), "--env", "production", "--"}, printEnv("DB_PASSWORD")...)...)
	if code == 0 || !strings.Contains(errOut, "AccessDenied") {
		t.Fatalf("wrong external id: exit code %d; stderr:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "s3cr=t pw") {
		t.Fatal("an error printed a value")
	}
}
