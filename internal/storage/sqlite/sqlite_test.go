package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/storagetest"
)

func openTest(t testing.TB, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "coffer.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openTest(t) })
}

// Without group commit and without the read cache the contract holds all
// the same.
func TestConformanceNoGroupCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openTest(t, WithMaxBatch(1), WithReaders(1), WithCache(0, 0))
	})
}

func TestOpenSetsPragmasAndMode(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	fi, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode %v, want 0600", perm)
	}
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	} {
		var got string
		if err := db.w.c.sc.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	c := <-db.readers
	defer func() { db.readers <- c }()
	var qo string
	if err := c.sc.QueryRowContext(t.Context(), "PRAGMA query_only").Scan(&qo); err != nil || qo != "1" {
		t.Errorf("reader PRAGMA query_only = %q, %v; want 1", qo, err)
	}
	// A read connection refuses writes even through raw SQL.
	if _, err := c.sc.ExecContext(t.Context(), "INSERT INTO accounts (id, created_ms) VALUES ('x', 0)"); err == nil {
		t.Errorf("write on a read connection: no error")
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(t.Context(), func(tx storage.Tx) error {
		return tx.InsertAccount(&storage.Account{ID: "123456789012"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.w.c.sc.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations()
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	err = db.View(t.Context(), func(tx storage.Tx) error {
		_, err := tx.Account("123456789012")
		return err
	})
	if err != nil {
		t.Errorf("account after reopen: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.c.sc.ExecContext(t.Context(),
		"INSERT INTO schema_migrations (version, name, applied_ms) VALUES (9999, 'future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(t.Context(), path); err == nil {
		db.Close()
		t.Fatal("Open of a database with a newer schema: no error")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open: %v, want a schema version error", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(t.Context(), filepath.Join(dir, "missing", "coffer.db")); err == nil {
		t.Error("Open in a missing directory: no error")
	}
	if _, err := Open(t.Context(), filepath.Join(dir, "x.db"), WithReaders(0)); err == nil {
		t.Error("Open with no readers: no error")
	}
	// Not a database.
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), bad); err == nil {
		t.Error("Open of a file that is not a database: no error")
	}
}

// A path with characters that mean something in a URI works.
func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars&x=1")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.Context(), filepath.Join(dir, "coffer.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if _, err := os.Stat(filepath.Join(dir, "coffer.db")); err != nil {
		t.Errorf("database not where asked: %v", err)
	}
}

// Concurrent Updates share transactions.
func TestGroupCommitGroups(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := db.Update(t.Context(), func(tx storage.Tx) error {
				return tx.InsertAccount(&storage.Account{ID: time.Duration(i).String()})
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	groups, closures := db.w.groups.Load(), db.w.closures.Load()
	t.Logf("%d closures in %d transactions", closures, groups)
	if closures != n {
		t.Errorf("closures = %d, want %d", closures, n)
	}
	if groups >= n {
		t.Errorf("%d closures took %d transactions: no grouping", closures, groups)
	}
}

// A closure waiting in the queue is abandoned when its context ends; one
// that started runs to the end.
func TestUpdateContextWhileQueued(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // holds the writer
		err := db.Update(t.Context(), func(tx storage.Tx) error {
			close(started)
			<-release
			return tx.InsertAccount(&storage.Account{ID: "first"})
		})
		if err != nil {
			t.Errorf("first Update: %v", err)
		}
	})
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := db.Update(ctx, func(tx storage.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued Update: %v, want deadline exceeded", err)
	}
	close(release)
	wg.Wait()
	// The abandoned closure never runs, even later.
	if err := db.Update(t.Context(), func(storage.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("abandoned closure ran")
	}

	// A started closure whose context ends finishes and commits.
	ctx, cancel = context.WithCancel(t.Context())
	err = db.Update(ctx, func(tx storage.Tx) error {
		cancel()
		return tx.InsertAccount(&storage.Account{ID: "second"})
	})
	if err != nil {
		t.Errorf("Update cancelled while running: %v", err)
	}
	err = db.View(t.Context(), func(tx storage.Tx) error {
		_, err := tx.Account("second")
		return err
	})
	if err != nil {
		t.Errorf("write of a closure cancelled while running: %v", err)
	}
}

// t.Fatal (runtime.Goexit) inside a closure ends the caller's goroutine, as
// it would outside Update, and the store goes on.
func TestUpdateGoexit(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = db.Update(t.Context(), func(tx storage.Tx) error {
			if err := tx.InsertAccount(&storage.Account{ID: "goexit"}); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		})
		t.Error("Update returned after Goexit")
	}()
	<-done
	err := db.Update(t.Context(), func(tx storage.Tx) error {
		if _, err := tx.Account("goexit"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("write of a closure that called Goexit: %v", err)
		}
		return tx.InsertAccount(&storage.Account{ID: "after"})
	})
	if err != nil {
		t.Fatalf("Update after Goexit: %v", err)
	}
}

// A Tx kept past its closure refuses to work.
func TestTxAfterClosure(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	var kept storage.Tx
	_ = db.Update(t.Context(), func(tx storage.Tx) error { kept = tx; return nil })
	if err := kept.InsertAccount(&storage.Account{ID: "late"}); !errors.Is(err, errTxDone) {
		t.Errorf("write through a finished Update's Tx: %v", err)
	}
	_ = db.View(t.Context(), func(tx storage.Tx) error { kept = tx; return nil })
	if _, err := kept.Account("late"); !errors.Is(err, errTxDone) {
		t.Errorf("read through a finished View's Tx: %v", err)
	}
}

// Close waits for queued Updates and refuses new ones.
func TestCloseDrainsQueue(t *testing.T) {
	db := openTest(t)
	const n = 100
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs <- db.Update(t.Context(), func(tx storage.Tx) error {
				return tx.InsertAccount(&storage.Account{ID: time.Duration(i).String()})
			})
		})
	}
	time.Sleep(time.Millisecond)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrClosed):
			t.Errorf("Update racing Close: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	db2, err := Open(t.Context(), db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var count int
	if err := db2.w.c.sc.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM accounts").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != ok {
		t.Errorf("%d Updates acknowledged, %d accounts stored", ok, count)
	}
}

// The list queries walk the paging index rather than sorting.
func TestListSecretsUsesIndex(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	for id, args := range map[stmtID][]any{
		stListSecretsFirst: {"a", "r", false, 10},
		stListSecretsAfter: {"a", "r", false, 10, 0, ""},
	} {
		p := explain(t, db, queries[id], args...)
		if !strings.Contains(p, "secrets_by_created") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("plan of %s: %s", queries[id], p)
		}
	}
}

// A View waiting for a free read connection gives up when its context ends.
// A View that needs no SQL needs no connection.
func TestViewWaitsForReader(t *testing.T) {
	db := openTest(t, WithReaders(1))
	defer db.Close()
	account := func(tx storage.Tx) error {
		_, err := tx.Account("123456789012")
		if errors.Is(err, storage.ErrNotFound) {
			err = nil
		}
		return err
	}
	inside, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = db.View(t.Context(), func(tx storage.Tx) error {
			if err := account(tx); err != nil { // takes the connection
				t.Error(err)
			}
			close(inside)
			<-release
			return nil
		})
	})
	<-inside
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err := db.View(ctx, account)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("View without a free connection: %v, want deadline exceeded", err)
	}
	if err := db.View(t.Context(), func(storage.Tx) error { return nil }); err != nil {
		t.Errorf("View reading nothing while the connection is taken: %v", err)
	}
	close(release)
	wg.Wait()
	if err := db.View(t.Context(), account); err != nil {
		t.Errorf("View after the connection came back: %v", err)
	}
}

// A database error that is not a constraint violation may have rolled back
// the whole transaction (SQLite does so for I/O errors, a full disk, ...), so
// it aborts the group: the closures of the group that returned nil get an
// error, the closures not started yet go on in the next group, and the
// writer carries on with a fresh connection.
func TestGroupAbortedByDatabaseError(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	insert := func(id string) func(storage.Tx) error {
		return func(tx storage.Tx) error { return tx.InsertAccount(&storage.Account{ID: id}) }
	}
	simulated := errors.New("simulated disk I/O error")
	poison := func(x storage.Tx) error {
		t := x.(*tx)
		// What SQLite does by itself on such an error: roll everything back.
		if _, err := t.c.sc.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			return err
		}
		_ = t.fail("simulated", simulated, "")
		return nil // the closure even swallows the error
	}

	// Hold the writer so that the next three queue up as one group.
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = db.Update(t.Context(), func(storage.Tx) error { close(started); <-release; return nil })
	})
	<-started
	errs := make([]error, 3)
	for i, fn := range []func(storage.Tx) error{insert("before"), poison, insert("after")} {
		queued := len(db.w.queue)
		wg.Go(func() { errs[i] = db.Update(t.Context(), fn) })
		for len(db.w.queue) == queued {
			time.Sleep(100 * time.Microsecond)
		}
	}
	close(release)
	wg.Wait()

	if !errors.Is(errs[0], simulated) {
		t.Errorf("closure before the failure: %v, want the group's error", errs[0])
	}
	if !errors.Is(errs[1], simulated) {
		t.Errorf("failing closure: %v, want its error", errs[1])
	}
	if errs[2] != nil {
		t.Errorf("closure after the failure: %v, want it committed in the next group", errs[2])
	}
	err := db.View(t.Context(), func(tx storage.Tx) error {
		if _, err := tx.Account("before"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("write of the aborted group: %v, want not found", err)
		}
		_, err := tx.Account("after")
		return err
	})
	if err != nil {
		t.Errorf("write of the next group: %v", err)
	}
	if err := db.Update(t.Context(), insert("later")); err != nil {
		t.Errorf("Update after an aborted group: %v", err)
	}
}
