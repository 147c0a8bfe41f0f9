package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

var errBoom = errors.New("boom")

// panicValue is what closures panic with; Update must re-raise it as is.
type panicValue struct{ n int }

// fixture inserts an account, a secret with a version, an access key and a
// key, and returns the secret and version.
func fixture(t *testing.T, s storage.Store) (*storage.Secret, *storage.Version) {
	t.Helper()
	sec := newSecret(acct, region, "fixture", "AAAAAA", base)
	ver := newVersion(sec.ARN, "v1", base, "one")
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(
			tx.InsertAccount(&storage.Account{ID: acct, Created: base}),
			tx.InsertSecret(sec),
			tx.InsertVersion(ver),
			tx.InsertAccessKey(&storage.AccessKey{ID: "AKIAFIXTURE", Account: acct, Created: base}),
			tx.InsertKey(&storage.Key{Account: acct, Region: region, KeyID: "k", Created: base}),
		)
	})
	return sec, ver
}

// writeEverything calls every write method of tx once, the updates and
// deletes against the fixture, and returns the errors.
func writeEverything(tx storage.Tx, sec *storage.Secret, ver *storage.Version) map[string]error {
	changed := *sec
	changed.Description = "changed"
	changedVer := *ver
	changedVer.Ciphertext = []byte("changed")
	return map[string]error{
		"InsertAccount":   tx.InsertAccount(&storage.Account{ID: acct2, Created: base}),
		"InsertAccessKey": tx.InsertAccessKey(&storage.AccessKey{ID: "AKIANEW", Account: acct, Created: base}),
		"InsertKey":       tx.InsertKey(&storage.Key{Account: acct, Region: region2, KeyID: "k", Created: base}),
		"InsertSecret":    tx.InsertSecret(newSecret(acct, region, "new", "BBBBBB", base)),
		"InsertVersion":   tx.InsertVersion(newVersion(sec.ARN, "v2", base, "two")),
		"UpdateVersion":   tx.UpdateVersion(&changedVer),
		"UpdateSecret":    tx.UpdateSecret(&changed),
		"DeleteVersion":   tx.DeleteVersion(sec.ARN, ver.VersionID),
		"DeleteSecret":    tx.DeleteSecret(sec.ARN),
	}
}

// checkUntouched fails unless the store holds exactly the fixture.
func checkUntouched(t *testing.T, s storage.Store, sec *storage.Secret, ver *storage.Version) {
	t.Helper()
	view(t, s, func(tx storage.Tx) error {
		got, err := tx.SecretByARN(sec.ARN)
		if err != nil {
			t.Fatalf("fixture secret: %v", err)
		}
		checkSecret(t, got, sec)
		vs, err := tx.Versions(sec.ARN, true)
		if err != nil || len(vs) != 1 {
			t.Fatalf("fixture versions: %d, %v; want 1", len(vs), err)
		}
		checkVersion(t, vs[0], ver)
		_, err = tx.Account(acct2)
		wantErr(t, "Account written by a failed transaction", err, storage.ErrNotFound)
		_, err = tx.AccessKey("AKIANEW")
		wantErr(t, "AccessKey written by a failed transaction", err, storage.ErrNotFound)
		_, err = tx.Key(acct, region2, "k")
		wantErr(t, "Key written by a failed transaction", err, storage.ErrNotFound)
		_, err = tx.SecretByName(acct, region, "new")
		wantErr(t, "Secret written by a failed transaction", err, storage.ErrNotFound)
		all, err := tx.ListSecrets(storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: true})
		if err != nil || len(all) != 1 {
			t.Errorf("ListSecrets: %d, %v; want the fixture only", len(all), err)
		}
		return nil
	})
}

func testUpdateError(t *testing.T, s storage.Store) {
	sec, ver := fixture(t, s)
	err := s.Update(t.Context(), func(tx storage.Tx) error {
		for op, err := range writeEverything(tx, sec, ver) {
			if err != nil {
				t.Errorf("%s: %v", op, err)
			}
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	wantErr(t, "Update whose closure failed", err, errBoom)
	checkUntouched(t, s, sec, ver)

	// An error met and handled inside the closure dooms nothing.
	update(t, s, func(tx storage.Tx) error {
		if err := tx.InsertAccount(&storage.Account{ID: "000000000001"}); err != nil {
			return err
		}
		wantErr(t, "InsertAccount of an existing id", tx.InsertAccount(&storage.Account{ID: acct}), storage.ErrConflict)
		_, err := tx.SecretByARN("missing")
		wantErr(t, "SecretByARN of a missing ARN", err, storage.ErrNotFound)
		wantErr(t, "DeleteSecret of a missing ARN", tx.DeleteSecret("missing"), storage.ErrNotFound)
		return tx.InsertAccount(&storage.Account{ID: "000000000002"})
	})
	view(t, s, func(tx storage.Tx) error {
		for _, id := range []string{"000000000001", "000000000002"} {
			if _, err := tx.Account(id); err != nil {
				t.Errorf("Account %s after handled errors: %v", id, err)
			}
		}
		return nil
	})
}

func testUpdatePanic(t *testing.T, s storage.Store) {
	sec, ver := fixture(t, s)
	for n := range 3 {
		func() {
			defer func() {
				if r := recover(); r != (panicValue{n}) {
					t.Errorf("recovered %v, want %v", r, panicValue{n})
				}
			}()
			_ = s.Update(t.Context(), func(tx storage.Tx) error {
				writeEverything(tx, sec, ver)
				panic(panicValue{n})
			})
			t.Errorf("Update returned after its closure panicked")
		}()
	}
	checkUntouched(t, s, sec, ver)
	// The store goes on working.
	update(t, s, func(tx storage.Tx) error { return tx.InsertAccount(&storage.Account{ID: acct2}) })
	view(t, s, func(tx storage.Tx) error {
		_, err := tx.Account(acct2)
		return err
	})
}

func testViewReadOnly(t *testing.T, s storage.Store) {
	sec, ver := fixture(t, s)
	view(t, s, func(tx storage.Tx) error {
		for op, err := range writeEverything(tx, sec, ver) {
			if err == nil {
				t.Errorf("%s in View: no error", op)
			}
		}
		return nil // even so, nothing may stick
	})
	checkUntouched(t, s, sec, ver)
}

func testViewError(t *testing.T, s storage.Store) {
	sec, ver := fixture(t, s)
	err := s.View(t.Context(), func(tx storage.Tx) error {
		if _, err := tx.SecretByARN(sec.ARN); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	wantErr(t, "View whose closure failed", err, errBoom)

	// Panics go through View; more of them than a backend likely has
	// connections, so that a leak would show.
	for n := range 50 {
		func() {
			defer func() {
				if r := recover(); r != (panicValue{n}) {
					t.Errorf("recovered %v, want %v", r, panicValue{n})
				}
			}()
			_ = s.View(t.Context(), func(tx storage.Tx) error {
				_, _ = tx.SecretByARN(sec.ARN)
				panic(panicValue{n})
			})
			t.Errorf("View returned after its closure panicked")
		}()
	}
	checkUntouched(t, s, sec, ver)
}

func testReadYourWrites(t *testing.T, s storage.Store) {
	sec := newSecret(acct, region, "ryw", "AAAAAA", base)
	v1 := newVersion(sec.ARN, "v1", base, "one")
	update(t, s, func(tx storage.Tx) error {
		if err := tx.InsertSecret(sec); err != nil {
			return err
		}
		got, err := tx.SecretByName(acct, region, sec.Name)
		if err != nil {
			t.Fatalf("SecretByName of an inserted secret: %v", err)
		}
		checkSecret(t, got, sec)
		list, err := tx.ListSecrets(storage.SecretQuery{Account: acct, Region: region})
		if err != nil || len(list) != 1 {
			t.Fatalf("ListSecrets: %d, %v; want 1", len(list), err)
		}

		if err := tx.InsertVersion(v1); err != nil {
			return err
		}
		gv, err := tx.Version(sec.ARN, "v1")
		if err != nil {
			t.Fatalf("Version of an inserted version: %v", err)
		}
		checkVersion(t, gv, v1)
		vs, err := tx.Versions(sec.ARN, true)
		if err != nil || len(vs) != 1 {
			t.Fatalf("Versions: %d, %v; want 1", len(vs), err)
		}

		changed := *got
		changed.Stages = map[string][]string{"v1": {"AWSCURRENT"}}
		changed.Description = "changed"
		if err := tx.UpdateSecret(&changed); err != nil {
			return err
		}
		got, err = tx.SecretByARN(sec.ARN)
		if err != nil {
			return err
		}
		checkSecret(t, got, &changed)

		if err := tx.DeleteVersion(sec.ARN, "v1"); err != nil {
			return err
		}
		_, err = tx.Version(sec.ARN, "v1")
		wantErr(t, "Version after DeleteVersion", err, storage.ErrNotFound)
		if err := tx.DeleteSecret(sec.ARN); err != nil {
			return err
		}
		_, err = tx.SecretByARN(sec.ARN)
		wantErr(t, "SecretByARN after DeleteSecret", err, storage.ErrNotFound)
		return tx.InsertSecret(sec)
	})

	// What an Update wrote is visible to every transaction that starts after
	// it returned.
	for i := range 20 {
		a := &storage.Account{ID: fmt.Sprintf("5000000000%02d", i)}
		update(t, s, func(tx storage.Tx) error { return tx.InsertAccount(a) })
		view(t, s, func(tx storage.Tx) error {
			_, err := tx.Account(a.ID)
			return err
		})
	}
}

// testSnapshot checks that a View sees one consistent snapshot while Updates
// commit: each Update bumps a counter in a secret and adds the version of
// that number, so a View must see exactly the versions the counter counts.
func testSnapshot(t *testing.T, s storage.Store) {
	sec := newSecret(acct, region, "snapshot", "AAAAAA", base)
	sec.Description = "0"
	insertSecrets(t, s, sec)
	const updates = 200
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for range updates {
			err := s.Update(t.Context(), func(tx storage.Tx) error {
				cur, err := tx.SecretByARN(sec.ARN)
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(cur.Description)
				cur.Description = strconv.Itoa(n + 1)
				if err := tx.UpdateSecret(cur); err != nil {
					return err
				}
				return tx.InsertVersion(newVersion(sec.ARN, strconv.Itoa(n+1), base, "x"))
			})
			if err != nil {
				t.Errorf("Update: %v", err)
				return
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				err := s.View(t.Context(), func(tx storage.Tx) error {
					cur, err := tx.SecretByARN(sec.ARN)
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(cur.Description)
					if n < last {
						t.Errorf("counter went back from %d to %d", last, n)
					}
					last = n
					vs, err := tx.Versions(sec.ARN, false)
					if err != nil {
						return err
					}
					if len(vs) != n {
						t.Errorf("snapshot with counter %d holds %d versions", n, len(vs))
					}
					_, err = tx.Version(sec.ARN, strconv.Itoa(n+1))
					if !errors.Is(err, storage.ErrNotFound) {
						t.Errorf("snapshot with counter %d: version %d: %v, want not found", n, n+1, err)
					}
					return nil
				})
				if err != nil {
					t.Errorf("View: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := getSecret(t, s, sec.ARN)
	if got.Description != strconv.Itoa(updates) {
		t.Errorf("counter after %d updates: %s", updates, got.Description)
	}
}

// testConcurrentUpdates runs many Updates from many goroutines, some of which
// fail in every way a closure can; each must land or vanish on its own.
func testConcurrentUpdates(t *testing.T, s storage.Store) {
	const goroutines, perGoroutine = 64, 50
	type outcome int
	const (
		commits outcome = iota
		returnsError
		panics
		failsOnConflict
		swallowsConflict // meets a conflict, carries on, commits
	)
	kind := func(g, i int) outcome {
		switch n := g*perGoroutine + i; {
		case n%7 == 3:
			return returnsError
		case n%13 == 6:
			return panics
		case n%11 == 5:
			return failsOnConflict
		case n%17 == 9:
			return swallowsConflict
		}
		return commits
	}
	name := func(g, i int) string { return fmt.Sprintf("c/%02d/%02d", g, i) }
	insertAccount := func(tx storage.Tx) error { // the shared row everyone collides on
		return tx.InsertAccount(&storage.Account{ID: acct})
	}
	update(t, s, insertAccount)

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				k := kind(g, i)
				sec := newSecret(acct, region, name(g, i), "AAAAAA", base.Add(time.Duration(i)*time.Millisecond))
				fn := func(tx storage.Tx) error {
					if err := tx.InsertSecret(sec); err != nil {
						return err
					}
					if err := tx.InsertVersion(newVersion(sec.ARN, "v1", base, name(g, i))); err != nil {
						return err
					}
					// Sees its own writes, under concurrency.
					if _, err := tx.SecretByName(acct, region, sec.Name); err != nil {
						return fmt.Errorf("own write: %w", err)
					}
					switch k {
					case returnsError:
						return errBoom
					case panics:
						panic(panicValue{g*perGoroutine + i})
					case failsOnConflict:
						return insertAccount(tx)
					case swallowsConflict:
						if err := insertAccount(tx); !errors.Is(err, storage.ErrConflict) {
							return fmt.Errorf("conflicting insert: %v", err)
						}
					}
					return nil
				}
				var err error
				recovered := func() (r any) {
					defer func() { r = recover() }()
					err = s.Update(t.Context(), fn)
					return nil
				}()
				switch k {
				case commits, swallowsConflict:
					if err != nil {
						t.Errorf("%s: Update: %v", sec.Name, err)
					}
				case returnsError:
					if !errors.Is(err, errBoom) {
						t.Errorf("%s: Update: %v, want %v", sec.Name, err, errBoom)
					}
				case failsOnConflict:
					if !errors.Is(err, storage.ErrConflict) {
						t.Errorf("%s: Update: %v, want %v", sec.Name, err, storage.ErrConflict)
					}
				case panics:
					if recovered != (panicValue{g*perGoroutine + i}) {
						t.Errorf("%s: recovered %v, want the closure's panic", sec.Name, recovered)
					}
				}
			}
		})
	}
	wg.Wait()

	view(t, s, func(tx storage.Tx) error {
		all, err := tx.ListSecrets(storage.SecretQuery{Account: acct, Region: region})
		if err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, sec := range all {
			listed[sec.Name] = true
		}
		want := 0
		var seqs []int64
		for g := range goroutines {
			for i := range perGoroutine {
				k := kind(g, i)
				landed := k == commits || k == swallowsConflict
				if landed {
					want++
				}
				if listed[name(g, i)] != landed {
					t.Errorf("%s (outcome %d): listed %v, want %v", name(g, i), k, listed[name(g, i)], landed)
				}
				arn := arnOf(acct, region, name(g, i), "AAAAAA")
				v, err := tx.Version(arn, "v1")
				if landed != (err == nil) {
					t.Errorf("%s (outcome %d): version: %v", name(g, i), k, err)
				}
				if err == nil {
					seqs = append(seqs, v.Seq)
				}
			}
		}
		if len(all) != want {
			t.Errorf("ListSecrets: %d secrets, want %d", len(all), want)
		}
		slices.Sort(seqs)
		if len(slices.Compact(seqs)) != want {
			t.Errorf("Seq values are not unique across committed versions")
		}
		return nil
	})
}

func testDoneContext(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	fn := func(tx storage.Tx) error {
		ran = true
		return tx.InsertAccount(&storage.Account{ID: acct})
	}
	wantErr(t, "Update with a cancelled context", s.Update(ctx, fn), context.Canceled)
	wantErr(t, "View with a cancelled context", s.View(ctx, fn), context.Canceled)
	if ran {
		t.Errorf("closure ran with a cancelled context")
	}
	view(t, s, func(tx storage.Tx) error {
		_, err := tx.Account(acct)
		wantErr(t, "Account after a cancelled Update", err, storage.ErrNotFound)
		return nil
	})
}

func testClose(t *testing.T, s storage.Store) {
	update(t, s, func(tx storage.Tx) error { return tx.InsertAccount(&storage.Account{ID: acct}) })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ran := false
	fn := func(storage.Tx) error { ran = true; return nil }
	if err := s.Update(t.Context(), fn); err == nil {
		t.Errorf("Update after Close: no error")
	}
	if err := s.View(t.Context(), fn); err == nil {
		t.Errorf("View after Close: no error")
	}
	if ran {
		t.Errorf("closure ran after Close")
	}
}
