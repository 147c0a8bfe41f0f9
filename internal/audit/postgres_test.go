package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/postgres"
)

// postgresStore opens a PostgreSQL store in a fresh schema; it skips when
// PostgreSQL is unreachable (fails with CI=true).
func postgresStore(t *testing.T) storage.Store {
	t.Helper()
	base := os.Getenv("COFFER_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable (CI=true): %v", err)
		}
		t.Skipf("PostgreSQL unreachable (set COFFER_TEST_POSTGRES to run this test): %v", err)
	}
	defer admin.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "coffer_audit_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(context.Background(), u.String())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostgresConcurrentAppenders appends from many goroutines, through
// Record and through Pending.Commit in retried transactions: the chain
// stays whole, one record per call.
func TestPostgresConcurrentAppenders(t *testing.T) {
	ctx := context.Background()
	store := postgresStore(t)
	tr := newTrail(t, store, audit.Config{})
	const workers, each = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := tr.Record(ctx, rec("GetSecretValue", map[string]any{"secretId": fmt.Sprint(w, "-", i)})); err != nil {
					errs <- err
				}
				p := audit.NewPending(rec("PutSecretValue", map[string]any{"secretId": fmt.Sprint(w, "-", i)}))
				if err := store.Update(ctx, func(tx storage.Tx) error { return p.Commit(tx, tr, nil) }); err != nil {
					errs <- err
				}
				if err := p.Finish(ctx, tr, "", "", nil); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	priv := key(t)
	if _, err := audit.NewSigner(store, priv, nil).Digest(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, store, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != workers*each*2 || rep.Digests != 1 {
		t.Fatalf("report %+v, want %d records and 1 digest", rep, workers*each*2)
	}
}
