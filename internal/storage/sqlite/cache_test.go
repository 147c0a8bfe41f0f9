package sqlite

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/storagetest"
)

// The contract holds with a cache so small that it evicts all the time
// (TestConformanceNoGroupCommit runs without a cache).
func TestConformanceTinyCache(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storagetest.Run(t, func(t *testing.T) storage.Store { return openTest(t, WithCache(1, 1)) })
}

const testAccount, testRegion = "123456789012", "us-east-1"

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func testSecret(name string) *storage.Secret {
	return &storage.Secret{
		ARN: arnOf(name), Account: testAccount, Region: testRegion, Name: name,
		Description: "description of " + name, KmsKeyID: "alias/k", Type: "text",
		Tags: []storage.Tag{{Key: "team", Value: "core"}, {Key: "env", Value: "prod"}}, TagsSet: true,
		Stages:  map[string][]string{"v1": {"AWSCURRENT", "x"}, "v0": {"AWSPREVIOUS"}},
		Created: t0, LastChanged: t0.Add(time.Minute),
		Attrs: []byte(`{"rotation":{"days":30}}`),
	}
}

func testVersion(arn, id, value string) *storage.Version {
	return &storage.Version{SecretARN: arn, VersionID: id, Created: t0, KmsKeyID: "alias/k",
		Ciphertext: []byte("sealed:" + value)}
}

// snapshot is what a View reads of one secret.
type snapshot struct {
	byName, byARN *storage.Secret
	nameErr       error
	arnErr        error
	vers          map[string]*storage.Version
	verErrs       map[string]error
}

// read reads the secret named name (with ARN arn) and the versions ids in one
// View, and reports whether that View began an SQL transaction.
func read(t *testing.T, db *DB, name, arn string, ids ...string) (snapshot, bool) {
	t.Helper()
	before := db.begins.Load()
	s := snapshot{vers: map[string]*storage.Version{}, verErrs: map[string]error{}}
	err := db.View(t.Context(), func(tx storage.Tx) error {
		s.byName, s.nameErr = tx.SecretByName(testAccount, testRegion, name)
		s.byARN, s.arnErr = tx.SecretByARN(arn)
		for _, id := range ids {
			s.vers[id], s.verErrs[id] = tx.Version(arn, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, db.begins.Load() != before
}

func update(t *testing.T, db *DB, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := db.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func insert(t *testing.T, db *DB, s *storage.Secret, vs ...*storage.Version) {
	t.Helper()
	update(t, db, func(tx storage.Tx) error {
		if err := tx.InsertSecret(s); err != nil {
			return err
		}
		for _, v := range vs {
			if err := tx.InsertVersion(v); err != nil {
				return err
			}
		}
		return nil
	})
}

// A View served from the cache returns what SQL returned, and begins no SQL
// transaction.
func TestCacheHit(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	sec := testSecret("hit")
	insert(t, db, sec, testVersion(sec.ARN, "v0", "zero"), testVersion(sec.ARN, "v1", "one"),
		&storage.Version{SecretARN: sec.ARN, VersionID: "empty", Created: t0, Ciphertext: nil})

	cold, began := read(t, db, sec.Name, sec.ARN, "v0", "v1", "empty")
	if !began {
		t.Error("View on a cold cache began no SQL transaction")
	}
	if cold.nameErr != nil || cold.arnErr != nil {
		t.Fatalf("cold reads: %v, %v", cold.nameErr, cold.arnErr)
	}
	if n, v := db.cache.size(); n != 1 || v != 3 {
		t.Errorf("cache holds %d secrets and %d versions, want 1 and 3", n, v)
	}
	for range 3 {
		warm, began := read(t, db, sec.Name, sec.ARN, "v0", "v1", "empty")
		if began {
			t.Error("View served from the cache began an SQL transaction")
		}
		if !reflect.DeepEqual(warm, cold) {
			t.Errorf("cached reads differ from SQL reads:\n got %+v\nwant %+v", warm, cold)
		}
	}
	if v := cold.vers["empty"]; v.Ciphertext != nil {
		t.Errorf("placeholder ciphertext %v, want nil", v.Ciphertext)
	}

	// A View that needs SQL after a cached read begins once.
	before := db.begins.Load()
	err := db.View(t.Context(), func(tx storage.Tx) error {
		if _, err := tx.SecretByARN(sec.ARN); err != nil {
			return err
		}
		if vs, err := tx.Versions(sec.ARN, false); err != nil || len(vs) != 3 {
			return fmt.Errorf("Versions: %d, %v", len(vs), err)
		}
		if _, err := tx.Version(sec.ARN, "v1"); err != nil {
			return err
		}
		_, err := tx.Account(testAccount)
		if errors.Is(err, storage.ErrNotFound) {
			err = nil
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := db.begins.Load() - before; n != 1 {
		t.Errorf("%d SQL transactions begun, want 1", n)
	}

	// Misses are not cached: each one reads SQL.
	for range 2 {
		s, began := read(t, db, "missing", arnOf("missing"), "v1")
		if !errors.Is(s.nameErr, storage.ErrNotFound) || !errors.Is(s.arnErr, storage.ErrNotFound) ||
			!errors.Is(s.verErrs["v1"], storage.ErrNotFound) {
			t.Errorf("missing secret: %v, %v, %v", s.nameErr, s.arnErr, s.verErrs["v1"])
		}
		if !began {
			t.Error("a miss was answered without SQL")
		}
	}
}

// Records handed out are the caller's: changing them changes nothing else.
func TestCacheCopies(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	sec := testSecret("copies")
	insert(t, db, sec, testVersion(sec.ARN, "v1", "one"))
	first, _ := read(t, db, sec.Name, sec.ARN, "v1") // from SQL: the cache keeps its own copy
	want, _ := read(t, db, sec.Name, sec.ARN, "v1")  // from the cache
	mutate := func(s snapshot) {
		for _, x := range []*storage.Secret{s.byName, s.byARN} {
			x.Description = "changed"
			x.Stages["v1"][0] = "CHANGED"
			x.Stages["v1"] = append(x.Stages["v1"], "more")
			x.Stages["v9"] = []string{"AWSPENDING"}
			x.Tags[0].Key = "changed"
			x.Attrs[0] = 'X'
			x.LastAccessed = time.Now()
		}
		s.vers["v1"].Ciphertext[0] = 'X'
		s.vers["v1"].LastAccessed = time.Now()
	}
	mutate(first)
	for range 3 {
		got, began := read(t, db, sec.Name, sec.ARN, "v1")
		if began {
			t.Error("not served from the cache")
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("cached records changed through a copy:\n got %+v\nwant %+v", got, want)
		}
		mutate(got)
	}
	// The label lists of one copy do not share memory with each other.
	got, _ := read(t, db, sec.Name, sec.ARN)
	p := got.byName.Stages["v0"]
	_ = append(got.byName.Stages["v1"], "spill")
	if !reflect.DeepEqual(p, []string{"AWSPREVIOUS"}) || !reflect.DeepEqual(got.byName.Stages["v0"], []string{"AWSPREVIOUS"}) {
		t.Errorf("an append to one label list changed another: %v", got.byName.Stages)
	}
}

// Every write through Update is seen by the next View, cache or not.
func TestCacheInvalidation(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	tests := []struct {
		name  string
		write func(tx storage.Tx, sec *storage.Secret) error
		check func(t *testing.T, sec *storage.Secret, s snapshot, renamed snapshot)
	}{
		{"UpdateSecret", func(tx storage.Tx, sec *storage.Secret) error {
			c := *sec
			c.Description = "new description"
			c.Stages = map[string][]string{"v2": {"AWSCURRENT"}}
			return tx.UpdateSecret(&c)
		}, func(t *testing.T, sec *storage.Secret, s, _ snapshot) {
			for _, x := range []*storage.Secret{s.byName, s.byARN} {
				if x == nil || x.Description != "new description" || !reflect.DeepEqual(x.Stages, map[string][]string{"v2": {"AWSCURRENT"}}) {
					t.Errorf("after UpdateSecret: %+v", x)
				}
			}
		}},
		{"UpdateSecretRename", func(tx storage.Tx, sec *storage.Secret) error {
			c := *sec
			c.Name += "-renamed"
			return tx.UpdateSecret(&c)
		}, func(t *testing.T, sec *storage.Secret, s, renamed snapshot) {
			if !errors.Is(s.nameErr, storage.ErrNotFound) {
				t.Errorf("old name after rename: %+v, %v", s.byName, s.nameErr)
			}
			if s.byARN == nil || s.byARN.Name != sec.Name+"-renamed" {
				t.Errorf("by ARN after rename: %+v, %v", s.byARN, s.arnErr)
			}
			if renamed.byName == nil || renamed.byName.ARN != sec.ARN {
				t.Errorf("new name after rename: %+v, %v", renamed.byName, renamed.nameErr)
			}
		}},
		{"DeleteSecret", func(tx storage.Tx, sec *storage.Secret) error {
			return tx.DeleteSecret(sec.ARN)
		}, func(t *testing.T, sec *storage.Secret, s, _ snapshot) {
			if !errors.Is(s.nameErr, storage.ErrNotFound) || !errors.Is(s.arnErr, storage.ErrNotFound) ||
				!errors.Is(s.verErrs["v1"], storage.ErrNotFound) {
				t.Errorf("after DeleteSecret: %v, %v, %v", s.nameErr, s.arnErr, s.verErrs["v1"])
			}
		}},
		{"NameReused", func(tx storage.Tx, sec *storage.Secret) error {
			if err := tx.DeleteSecret(sec.ARN); err != nil {
				return err
			}
			other := testSecret(sec.Name)
			other.ARN = sec.ARN[:len(sec.ARN)-6] + "ZzZzZz"
			return tx.InsertSecret(other)
		}, func(t *testing.T, sec *storage.Secret, s, _ snapshot) {
			if s.byName == nil || s.byName.ARN == sec.ARN {
				t.Errorf("name reused by another secret: %+v, %v", s.byName, s.nameErr)
			}
			if !errors.Is(s.arnErr, storage.ErrNotFound) {
				t.Errorf("deleted ARN: %+v, %v", s.byARN, s.arnErr)
			}
		}},
		{"InsertVersion", func(tx storage.Tx, sec *storage.Secret) error {
			return tx.InsertVersion(testVersion(sec.ARN, "v2", "two"))
		}, func(t *testing.T, sec *storage.Secret, s, _ snapshot) {
			if v := s.vers["v2"]; v == nil || string(v.Ciphertext) != "sealed:two" {
				t.Errorf("inserted version: %+v, %v", v, s.verErrs["v2"])
			}
		}},
		{"UpdateVersion", func(tx storage.Tx, sec *storage.Secret) error {
			v := testVersion(sec.ARN, "v1", "changed")
			v.LastAccessed = t0.Add(time.Hour)
			return tx.UpdateVersion(v)
		}, func(t *testing.T, sec *storage.Secret, s, _ snapshot) {
			if v := s.vers["v1"]; v == nil || string(v.Ciphertext) != "sealed:changed" || !v.LastAccessed.Equal(t0.Add(time.Hour)) {
				t.Errorf("updated version: %+v, %v", v, s.verErrs["v1"])
			}
		}},
		{"DeleteVersion", func(tx storage.Tx, sec *storage.Secret) error {
			return tx.DeleteVersion(sec.ARN, "v1")
		}, func(t *testing.T, sec *storage.Secret, s, _ snapshot) {
			if !errors.Is(s.verErrs["v1"], storage.ErrNotFound) {
				t.Errorf("deleted version: %+v, %v", s.vers["v1"], s.verErrs["v1"])
			}
			if s.byARN == nil {
				t.Errorf("secret of a deleted version: %v", s.arnErr)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sec := testSecret("inval/" + tc.name)
			insert(t, db, sec, testVersion(sec.ARN, "v1", "one"))
			read(t, db, sec.Name, sec.ARN, "v1", "v2")
			if _, began := read(t, db, sec.Name, sec.ARN, "v1"); began {
				t.Fatal("cache not warm")
			}
			update(t, db, func(tx storage.Tx) error { return tc.write(tx, sec) })
			s, _ := read(t, db, sec.Name, sec.ARN, "v1", "v2")
			renamed, _ := read(t, db, sec.Name+"-renamed", sec.ARN)
			tc.check(t, sec, s, renamed)
			// Again, now from the cache where it was refilled.
			s, _ = read(t, db, sec.Name, sec.ARN, "v1", "v2")
			renamed, _ = read(t, db, sec.Name+"-renamed", sec.ARN)
			tc.check(t, sec, s, renamed)
		})
	}
}

// A closure that fails changes nothing, so it leaves the cache alone, also
// when it shares its transaction with one that commits.
func TestCacheRolledBackClosure(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	a, b := testSecret("rollback/a"), testSecret("rollback/b")
	insert(t, db, a, testVersion(a.ARN, "v1", "one"))
	insert(t, db, b, testVersion(b.ARN, "v1", "one"))
	wantA, _ := read(t, db, a.Name, a.ARN, "v1")
	read(t, db, b.Name, b.ARN, "v1")

	errBoom := errors.New("boom")
	failA := func(tx storage.Tx) error {
		c := *a
		c.Description = "rolled back"
		if err := tx.UpdateSecret(&c); err != nil {
			return err
		}
		if err := tx.UpdateVersion(testVersion(a.ARN, "v1", "rolled back")); err != nil {
			return err
		}
		// The closure reads its own write, from SQL.
		if got, err := tx.SecretByARN(a.ARN); err != nil || got.Description != "rolled back" {
			t.Errorf("read your write in Update: %+v, %v", got, err)
		}
		return errBoom
	}
	if err := db.Update(t.Context(), failA); !errors.Is(err, errBoom) {
		t.Fatalf("failing Update: %v", err)
	}
	got, began := read(t, db, a.Name, a.ARN, "v1")
	if began {
		t.Error("a rolled-back closure invalidated the cache")
	}
	if !reflect.DeepEqual(got, wantA) {
		t.Errorf("after a rolled-back closure:\n got %+v\nwant %+v", got, wantA)
	}

	// The same in one group with a closure that commits.
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = db.Update(t.Context(), func(storage.Tx) error { close(started); <-release; return nil })
	})
	<-started
	errs := make([]error, 2)
	fns := []func(storage.Tx) error{failA, func(tx storage.Tx) error {
		c := *b
		c.Description = "committed"
		return tx.UpdateSecret(&c)
	}}
	for i, fn := range fns {
		queued := len(db.w.queue)
		wg.Go(func() { errs[i] = db.Update(t.Context(), fn) })
		for len(db.w.queue) == queued {
			time.Sleep(100 * time.Microsecond)
		}
	}
	groups := db.w.groups.Load()
	close(release)
	wg.Wait()
	if !errors.Is(errs[0], errBoom) || errs[1] != nil {
		t.Fatalf("grouped Updates: %v, %v", errs[0], errs[1])
	}
	if n := db.w.groups.Load() - groups; n != 1 {
		t.Logf("the two closures took %d transactions", n)
	}
	got, began = read(t, db, a.Name, a.ARN, "v1")
	if began {
		t.Error("a rolled-back closure invalidated the cache (in a group)")
	}
	if !reflect.DeepEqual(got, wantA) {
		t.Errorf("after a rolled-back closure in a group:\n got %+v\nwant %+v", got, wantA)
	}
	if got, _ := read(t, db, b.Name, b.ARN); got.byName == nil || got.byName.Description != "committed" {
		t.Errorf("the committed closure of the group: %+v", got.byName)
	}
}

// A small cache stays within its bounds and keeps answering right.
func TestCacheEviction(t *testing.T) {
	db := openTest(t, WithCache(3, 4))
	defer db.Close()
	const n = 10
	for i := range n {
		sec := testSecret("evict/" + strconv.Itoa(i))
		sec.Description = strconv.Itoa(i)
		insert(t, db, sec, testVersion(sec.ARN, "v1", "one-"+strconv.Itoa(i)), testVersion(sec.ARN, "v2", "two-"+strconv.Itoa(i)))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		i := r.IntN(n)
		name := "evict/" + strconv.Itoa(i)
		s, _ := read(t, db, name, arnOf(name), "v1", "v2")
		if s.byName == nil || s.byName.Description != strconv.Itoa(i) || s.byARN == nil || s.byARN.Name != name {
			t.Fatalf("secret %d: %+v %v / %+v %v", i, s.byName, s.nameErr, s.byARN, s.arnErr)
		}
		for _, id := range []string{"v1", "v2"} {
			want := map[string]string{"v1": "sealed:one-", "v2": "sealed:two-"}[id] + strconv.Itoa(i)
			if v := s.vers[id]; v == nil || string(v.Ciphertext) != want {
				t.Fatalf("version %s of %d: %+v, %v", id, i, v, s.verErrs[id])
			}
		}
		if secs, vers := db.cache.size(); secs > 3 || vers > 4 {
			t.Fatalf("cache holds %d secrets and %d versions, bounds 3 and 4", secs, vers)
		}
	}
}

// TestCacheStress runs Updates and Views on a few secrets at once. Each
// Update bumps a secret's counter (its Description), points AWSCURRENT at a
// new version and inserts that version. Each View checks that it sees at
// least every Update that returned before it started, never less than what
// the same reader saw before, and one consistent state: the current version
// exists, the next one does not, and the version list matches the counter.
func TestCacheStress(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"default", nil},
		{"tiny", []Option{WithCache(2, 2)}},
		{"serial", []Option{WithMaxBatch(1), WithReaders(2)}},
		// Views on the cache wait for the one connection while holding
		// commits up; the Views holding it never wait for the cache.
		{"one reader", []Option{WithReaders(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) { stress(t, tc.opts...) })
	}
}

func stress(t *testing.T, opts ...Option) {
	db := openTest(t, opts...)
	defer db.Close()
	const (
		keys    = 4
		writers = 2 // per key
		updates = 40
		readers = 4
	)
	if testing.Short() {
		t.Skip("short")
	}
	names := make([]string, keys)
	var acked [keys]atomic.Int64 // the counter of the last Update that returned, per key
	for k := range keys {
		names[k] = "stress/" + strconv.Itoa(k)
		sec := testSecret(names[k])
		sec.Description = "0"
		sec.Stages = map[string][]string{}
		insert(t, db, sec)
	}
	vid := func(n int) string { return "v" + strconv.Itoa(n) }

	var wg sync.WaitGroup
	var writing sync.WaitGroup
	for k := range keys {
		for range writers {
			writing.Go(func() {
				for range updates {
					var n int
					err := db.Update(t.Context(), func(tx storage.Tx) error {
						cur, err := tx.SecretByARN(arnOf(names[k]))
						if err != nil {
							return err
						}
						n, _ = strconv.Atoi(cur.Description)
						n++
						cur.Description = strconv.Itoa(n)
						cur.Stages = map[string][]string{vid(n): {"AWSCURRENT"}}
						if err := tx.UpdateSecret(cur); err != nil {
							return err
						}
						return tx.InsertVersion(testVersion(cur.ARN, vid(n), strconv.Itoa(n)))
					})
					if err != nil {
						t.Errorf("Update: %v", err)
						return
					}
					for { // acked only grows
						old := acked[k].Load()
						if int64(n) <= old || acked[k].CompareAndSwap(old, int64(n)) {
							break
						}
					}
				}
			})
		}
	}
	done := make(chan struct{})
	wg.Go(func() { writing.Wait(); close(done) })

	var views, sqlViews atomic.Int64
	for g := range readers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			var seen [keys]int
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				k := r.IntN(keys)
				floor := int(acked[k].Load())
				before := db.begins.Load()
				err := db.View(t.Context(), func(tx storage.Tx) error {
					var sec *storage.Secret
					var err error
					if i%2 == 0 {
						sec, err = tx.SecretByName(testAccount, testRegion, names[k])
					} else {
						sec, err = tx.SecretByARN(arnOf(names[k]))
					}
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(sec.Description)
					if n < floor {
						t.Errorf("key %d: View sees counter %d after Update %d returned", k, n, floor)
					}
					if n < seen[k] {
						t.Errorf("key %d: counter went back from %d to %d", k, seen[k], n)
					}
					seen[k] = n
					if n == 0 {
						return nil
					}
					if cur := sec.Stages[vid(n)]; len(cur) != 1 || cur[0] != "AWSCURRENT" {
						t.Errorf("key %d counter %d: stages %v", k, n, sec.Stages)
					}
					v, err := tx.Version(sec.ARN, vid(n))
					if err != nil {
						t.Errorf("key %d counter %d: current version: %v", k, n, err)
						return nil
					}
					if string(v.Ciphertext) != "sealed:"+strconv.Itoa(n) {
						t.Errorf("key %d counter %d: version holds %q", k, n, v.Ciphertext)
					}
					if i%3 == 0 { // a miss: from SQL, after cached reads
						if _, err := tx.Version(sec.ARN, vid(n+1)); !errors.Is(err, storage.ErrNotFound) {
							t.Errorf("key %d counter %d: next version: %v, want not found", k, n, err)
						}
					}
					if i%5 == 0 {
						vs, err := tx.Versions(sec.ARN, false)
						if err != nil {
							return err
						}
						if len(vs) != n {
							t.Errorf("key %d counter %d: %d versions", k, n, len(vs))
						}
					}
					return nil
				})
				if err != nil {
					t.Errorf("View: %v", err)
					return
				}
				views.Add(1)
				if db.begins.Load() != before {
					sqlViews.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d Views, at most %d of them began SQL", views.Load(), sqlViews.Load())
	for k := range keys {
		if got := acked[k].Load(); got != writers*updates {
			t.Errorf("key %d: counter %d, want %d", k, got, writers*updates)
		}
	}
}
