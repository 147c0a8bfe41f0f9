package iam

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	s     *Service
	clk   *clock
	store storage.Store
	root  *seal.KeyFile
}

// newEnv runs the service on a real SQLite store and key file, with the
// accounts acctA and acctB.
func newEnv(t testing.TB) *env {
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
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s := New(store, root, "aws", clk.now)
	for _, a := range []string{acctA, acctB} {
		id, secret := NewRootKey()
		if _, err := s.EnsureRoot(t.Context(), a, id, secret); err != nil {
			t.Fatal(err)
		}
	}
	return &env{s: s, clk: clk, store: store, root: root}
}

// rootOf is the root caller of an account.
func (e *env) rootOf(account string) Caller {
	p := Principal{Account: account, ARN: "arn:aws:iam::" + account + ":root", Kind: KindRoot, UserID: account}
	return Caller{Identity: &Identity{Principal: p, Root: true}, Request: RequestContext{Now: e.clk.now()}}
}

// callerOf authenticates with an access key as the front door does.
func (e *env) callerOf(t testing.TB, keyID, token string) Caller {
	t.Helper()
	cred, err := e.s.LookupAccessKey(t.Context(), keyID, token)
	if err != nil {
		t.Fatalf("LookupAccessKey %s: %v", keyID, err)
	}
	id, err := e.s.Identity(t.Context(), cred.Principal)
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	return Caller{Identity: id, Request: RequestContext{Now: e.clk.now(), SourceIP: "192.0.2.10", SecureTransport: true, Region: "us-east-1"}}
}

// userWithKey creates a user (with an inline policy when doc is set) and an
// access key of it, and returns the key.
func (e *env) userWithKey(t testing.TB, account, name, doc string) *AccessKey {
	t.Helper()
	ctx, root := t.Context(), e.rootOf(account)
	if _, err := e.s.CreateUser(ctx, root, name, "", nil); err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	if doc != "" {
		if err := e.s.PutInlinePolicy(ctx, root, storage.EntityUser, name, "inline", doc); err != nil {
			t.Fatalf("PutInlinePolicy %s: %v", name, err)
		}
	}
	k, err := e.s.CreateAccessKey(ctx, root, name)
	if err != nil {
		t.Fatalf("CreateAccessKey %s: %v", name, err)
	}
	return k
}

// wantIAMError fails unless err is an *Error with code and message.
func wantIAMError(t *testing.T, what string, err error, code, message string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("%s: error %v, want %s %q", what, err, code, message)
		return
	}
	if e.Code != code || (message != "" && e.Message != message) {
		t.Errorf("%s:\n got %s %q\nwant %s %q", what, e.Code, e.Message, code, message)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
