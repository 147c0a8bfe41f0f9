package function

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/rotation"
	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

const (
	acct  = "111122223333"
	other = "444455556666"
)

type fixture struct {
	reg   *Registry
	ids   *iam.Service
	store storage.Store
}

// newFixture runs a Registry on a real SQLite store and key file, with the
// accounts acct and other.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	root, err := seal.OpenKeyFile(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "coffer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ids := iam.New(store, root, "aws", time.Now)
	for _, a := range []string{acct, other} {
		id, secret := iam.NewRootKey()
		if _, err := ids.EnsureRoot(t.Context(), a, id, secret); err != nil {
			t.Fatal(err)
		}
	}
	reg := New(store, ids, Config{Endpoint: "http://127.0.0.1:9", Root: root})
	return &fixture{reg: reg, ids: ids, store: store}
}

func TestRegistryCRUD(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	info, key, err := f.reg.Create(ctx, acct, Spec{Name: "rotate-db", Exec: []string{"/usr/bin/python3", "/opt/rotate.py"}, Env: map[string]string{"EXCLUDE_CHARACTERS": "/@"}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("Create exec: %v", err)
	}
	if key != "" || info.Name != "rotate-db" || !strings.HasPrefix(info.ID, "FN") {
		t.Errorf("Create exec: info %+v, key set %v", info, key != "")
	}
	_, key, err = f.reg.Create(ctx, acct, Spec{Name: "Hook", URL: "https://hooks.example.com/rotate"})
	if err != nil {
		t.Fatalf("Create url: %v", err)
	}
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 32 {
		t.Errorf("HMAC key of a URL function: %d bytes (%v), want 32", len(k), err)
	}
	// Names compare case-insensitively; accounts are separate.
	if _, _, err := f.reg.Create(ctx, acct, Spec{Name: "ROTATE-DB", Exec: []string{"true"}}); !errors.Is(err, ErrExists) {
		t.Errorf("Create of a taken name: %v, want ErrExists", err)
	}
	if _, _, err := f.reg.Create(ctx, other, Spec{Name: "rotate-db", Exec: []string{"true"}}); err != nil {
		t.Errorf("Create of the same name in another account: %v", err)
	}
	if _, _, err := f.reg.Create(ctx, "999999999999", Spec{Name: "x", Exec: []string{"true"}}); err == nil {
		t.Error("Create in an account that does not exist: no error")
	}

	list, err := f.reg.List(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "Hook" || list[1].Name != "rotate-db" {
		t.Fatalf("List: %+v", list)
	}
	if list[0].URL != "https://hooks.example.com/rotate" || len(list[1].Exec) != 2 || list[1].Exec[1] != "/opt/rotate.py" ||
		list[1].Env["EXCLUDE_CHARACTERS"] != "/@" || list[1].Timeout != 30*time.Second {
		t.Errorf("List read back %+v %+v", list[0], list[1])
	}

	if _, err := f.reg.Lookup(ctx, acct, "us-east-1", "rotate-db"); err != nil {
		t.Errorf("Lookup by name: %v", err)
	}
	if fn, err := f.reg.Lookup(ctx, acct, "us-east-1", "arn:aws:lambda:us-east-1:"+acct+":function:rotate-db"); err != nil {
		t.Errorf("Lookup by Lambda ARN: %v", err)
	} else if _, ok := fn.(*ExecFunc); !ok {
		t.Errorf("Lookup of an exec function: %T", fn)
	}
	for _, name := range []string{"nope", "arn:aws:lambda:us-east-1:" + other + ":function:rotate-db", "bad name"} {
		if _, err := f.reg.Lookup(ctx, acct, "us-east-1", name); !errors.Is(err, rotation.ErrNotFound) {
			t.Errorf("Lookup %q: %v, want rotation.ErrNotFound", name, err)
		}
	}

	if err := f.reg.Delete(ctx, acct, "rotate-db"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := f.reg.Lookup(ctx, acct, "us-east-1", "rotate-db"); !errors.Is(err, rotation.ErrNotFound) {
		t.Errorf("Lookup after Delete: %v, want ErrNotFound", err)
	}
	if err := f.reg.Delete(ctx, acct, "rotate-db"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete twice: %v, want ErrNotFound", err)
	}
	if _, err := f.reg.Lookup(ctx, other, "us-east-1", "rotate-db"); err != nil {
		t.Errorf("the other account's function went too: %v", err)
	}
}

func TestCreateValidates(t *testing.T) {
	f := newFixture(t)
	for _, s := range []Spec{
		{Name: "", Exec: []string{"true"}},
		{Name: "has space", Exec: []string{"true"}},
		{Name: strings.Repeat("a", 65), Exec: []string{"true"}},
		{Name: "x"},
		{Name: "x", Exec: []string{"true"}, URL: "https://h/"},
		{Name: "x", URL: "ftp://h/"},
		{Name: "x", URL: "https:///nohost"},
		{Name: "x", Exec: []string{"true"}, Env: map[string]string{"AWS_SESSION_TOKEN": "x"}},
		{Name: "x", Exec: []string{"true"}, Env: map[string]string{"1BAD": "x"}},
		{Name: "x", Exec: []string{"true"}, Timeout: time.Hour},
	} {
		if _, _, err := f.reg.Create(t.Context(), acct, s); err == nil {
			t.Errorf("Create %+v: no error", s)
		}
	}
}

// TestLookupURLSignsWithTheCreatedKey: the key printed at creation is the
// one Lookup opens and signs with.
func TestLookupURLSignsWithTheCreatedKey(t *testing.T) {
	f := newFixture(t)
	var key []byte
	ok := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok <- Verify(key, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), time.Minute)
	}))
	defer srv.Close()
	_, k, err := f.reg.Create(t.Context(), acct, Spec{Name: "hook", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	key, _ = base64.StdEncoding.DecodeString(k)
	fn, err := f.reg.Lookup(t.Context(), acct, "us-east-1", "hook")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fn.Invoke(t.Context(), event); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if !<-ok {
		t.Error("the receiver could not verify with the key printed at creation")
	}
}

// TestExecGetsScopedCredentials: an exec function's environment holds
// session credentials of the account that coffer accepts, allowed on the
// event's secret only.
func TestExecGetsScopedCredentials(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	if _, _, err := f.reg.Create(t.Context(), acct, Spec{Name: "dump", Exec: []string{"/bin/sh", "-c", `env > "$OUT/env"`}, Env: map[string]string{"OUT": out}}); err != nil {
		t.Fatal(err)
	}
	// The function's own region does not matter: AWS_REGION is the secret's.
	fn, err := f.reg.Lookup(t.Context(), acct, "eu-west-1", "dump")
	if err != nil {
		t.Fatal(err)
	}
	if log, err := fn.Invoke(t.Context(), event); err != nil {
		t.Fatalf("Invoke: %v (%s)", err, log)
	}
	b, err := os.ReadFile(filepath.Join(out, "env"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	for k, want := range map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "SECRETS_MANAGER_ENDPOINT": "http://127.0.0.1:9",
		"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	cred, err := f.ids.LookupAccessKey(t.Context(), env["AWS_ACCESS_KEY_ID"], env["AWS_SESSION_TOKEN"])
	if err != nil {
		t.Fatalf("coffer refuses the function's credentials: %v", err)
	}
	if cred.Secret() != env["AWS_SECRET_ACCESS_KEY"] {
		t.Error("AWS_SECRET_ACCESS_KEY is not the session's secret")
	}
	p := cred.Principal
	if p.Account != acct || p.Kind != iam.KindAssumedRole || !strings.HasPrefix(p.SessionName, "coffer-rotation-7c2b4a0e") {
		t.Errorf("principal %s (%s)", p.ARN, p.SessionName)
	}
	if d := time.Until(cred.Expires); d < time.Minute || d > 10*time.Minute {
		t.Errorf("credentials last %s, want a few minutes", d)
	}
	id, err := f.ids.Identity(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if id.Session == nil || id.Root {
		t.Fatal("the function's identity is not capped by a session policy")
	}
}

func TestExecRefusesEventOfAnotherAccount(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.reg.Create(t.Context(), acct, Spec{Name: "noop", Exec: []string{"/bin/sh", "-c", "exit 0"}}); err != nil {
		t.Fatal(err)
	}
	fn, err := f.reg.Lookup(t.Context(), acct, "us-east-1", "noop")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"db", "arn:aws:secretsmanager:us-east-1:" + other + ":secret:db-AbCdEf", "arn:aws:iam::" + acct + ":secret:db", "arn:aws:secretsmanager:us-east-1:" + acct + ":secret:*"} {
		ev := event
		ev.SecretID = id
		if _, err := fn.Invoke(t.Context(), ev); err == nil {
			t.Errorf("Invoke with SecretId %q: no error", id)
		}
	}
}
