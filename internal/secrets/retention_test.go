package secrets

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newTestService runs the domain on a real SQLite store and key file.
func newTestService(t *testing.T) (*Service, *clock, storage.Store) {
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
	return New(Config{Store: store, Root: root, Now: clk.now}), clk, store
}

var caller = SystemCaller("aws", "123456789012", "us-east-1")

func token(i int) *string { s := fmt.Sprintf("00000000-0000-0000-0000-%012d", i); return &s }

// A secret keeps at most 100 versions; label-less versions are purged once
// they are a day old, never sooner and never when labelled.
func TestVersionRetention(t *testing.T) {
	s, clk, store := newTestService(t)
	ctx := context.Background()
	str := func(v string) *string { return &v }
	if _, err := s.CreateSecret(ctx, caller, CreateInput{Name: "r", SecretString: str("v0"), ClientRequestToken: token(0)}); err != nil {
		t.Fatal(err)
	}
	// A custom label keeps version 1 alive forever.
	if _, err := s.PutSecretValue(ctx, caller, PutInput{SecretID: "r", SecretString: str("v1"), ClientRequestToken: token(1), VersionStages: []string{"KEEP"}}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 100; i++ {
		if _, err := s.PutSecretValue(ctx, caller, PutInput{SecretID: "r", SecretString: str("v"), ClientRequestToken: token(i)}); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	_, err := s.PutSecretValue(ctx, caller, PutInput{SecretID: "r", SecretString: str("v"), ClientRequestToken: token(100)})
	var de *Error
	if !errors.As(err, &de) || de.Kind != KindLimitExceeded {
		t.Fatalf("101st version within a day: %v, want LimitExceededException", err)
	}
	clk.add(25 * time.Hour)
	for i := 100; i < 103; i++ {
		if _, err := s.PutSecretValue(ctx, caller, PutInput{SecretID: "r", SecretString: str("v"), ClientRequestToken: token(i)}); err != nil {
			t.Fatalf("put %d after a day: %v", i, err)
		}
	}
	var vs []*storage.Version
	arn := ""
	_ = store.View(ctx, func(tx storage.Tx) error {
		sec, err := tx.SecretByName(caller.Account, caller.Region, "r")
		if err != nil {
			return err
		}
		arn = sec.ARN
		vs, err = tx.Versions(sec.ARN, false)
		return err
	})
	if len(vs) != 100 {
		t.Fatalf("%d versions kept, want 100 (%s)", len(vs), arn)
	}
	ids := map[string]bool{}
	for _, v := range vs {
		ids[v.VersionID] = true
	}
	if ids[*token(0)] || ids[*token(2)] || ids[*token(3)] || !ids[*token(1)] || !ids[*token(4)] {
		t.Fatalf("wrong versions purged: kept v0=%v v1(KEEP)=%v v2=%v v3=%v v4=%v", ids[*token(0)], ids[*token(1)], ids[*token(2)], ids[*token(3)], ids[*token(4)])
	}
}
