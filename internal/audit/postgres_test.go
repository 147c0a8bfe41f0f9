package audit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/postgres"
	"github.com/coffer-dev/coffer/internal/storage/postgres/pgtest"
)

// postgresStore opens a PostgreSQL store in a fresh schema; it skips when
// PostgreSQL is unreachable (fails with CI=true).
func postgresStore(t *testing.T) storage.Store {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.Schema(t))
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
