package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/postgres/pgtest"
	"github.com/coffer-dev/coffer/internal/storage/storagetest"
)

// freshSchema is an empty schema for one test (pgtest.Schema), dropped
// when it ends; it returns the URL that selects it.
func freshSchema(t testing.TB) string { return pgtest.Schema(t) }

func openTest(t testing.TB, u string) *DB {
	t.Helper()
	db, err := Open(context.Background(), u)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openTest(t, freshSchema(t))
	})
}

// TestConcurrentOpen starts several "nodes" on one empty schema at once:
// each migration is applied exactly once and every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	u := freshSchema(t)
	var wg sync.WaitGroup
	dbs := make([]*DB, 6)
	errs := make([]error, len(dbs))
	for i := range dbs {
		wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), u) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n, distinct int
	if err := c.QueryRow(t.Context(), "SELECT count(*), count(DISTINCT version) FROM schema_migrations").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || distinct != len(ms) {
		t.Errorf("schema_migrations: %d rows, %d versions; want %d of each", n, distinct, len(ms))
	}
}

// TestNewerSchemaRefused: a database migrated by a newer coffer is refused.
func TestNewerSchemaRefused(t *testing.T) {
	u := freshSchema(t)
	openTest(t, u).Close()
	c, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(t.Context(), "INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(t.Context(), u); err == nil {
		db.Close()
		t.Fatal("Open of a newer schema: no error")
	}
}

// TestCrossNodeLabelMoves runs PutSecretValue-like closures from two stores
// on one database (two nodes): each reads the secret, returns early when its
// ClientRequestToken is already a version (idempotency), else inserts the
// version and moves AWSCURRENT to it and AWSPREVIOUS to the old current.
// Every token is tried twice, on different nodes. With locking reads and
// retries, the result must be as if they ran one by one: one version per
// token, exactly one AWSCURRENT, one AWSPREVIOUS on the version that was
// current before the last move, and a write acknowledged on one node read
// at once on the other.
func TestCrossNodeLabelMoves(t *testing.T) {
	u := freshSchema(t)
	nodes := []*DB{openTest(t, u), openTest(t, u)}
	for _, n := range nodes {
		defer n.Close()
	}
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:race-AAAAAA"
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	err := nodes[0].Update(t.Context(), func(tx storage.Tx) error {
		if err := tx.InsertSecret(&storage.Secret{ARN: arn, Account: "123456789012", Region: "us-east-1", Name: "race",
			Stages: map[string][]string{"v0": {"AWSCURRENT"}}, Created: base}); err != nil {
			return err
		}
		return tx.InsertVersion(&storage.Version{SecretARN: arn, VersionID: "v0", Created: base, Ciphertext: []byte("c")})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A write on node 0 is read on node 1 at once.
	if err := nodes[1].View(t.Context(), func(tx storage.Tx) error { _, err := tx.Version(arn, "v0"); return err }); err != nil {
		t.Fatalf("node 1 reads node 0's write: %v", err)
	}

	put := func(db *DB, token string) error {
		return db.Update(t.Context(), func(tx storage.Tx) error {
			sec, err := tx.SecretByARN(arn)
			if err != nil {
				return err
			}
			if _, err := tx.Version(arn, token); err == nil {
				return nil // the same request again: nothing to do
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if err := tx.InsertVersion(&storage.Version{SecretARN: arn, VersionID: token, Created: time.Now(), Ciphertext: []byte("c")}); err != nil {
				return err
			}
			stages := map[string][]string{}
			for id, labels := range sec.Stages {
				for _, l := range labels {
					switch l {
					case "AWSPREVIOUS":
					case "AWSCURRENT":
						stages[id] = append(stages[id], "AWSPREVIOUS")
					default:
						stages[id] = append(stages[id], l)
					}
				}
			}
			stages[token] = []string{"AWSCURRENT"}
			sec.Stages = stages
			return tx.UpdateSecret(sec)
		})
	}
	const tokens, workers = 40, 8
	var wg sync.WaitGroup
	errc := make(chan error, tokens*2)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < tokens*2; i += workers {
				tok := fmt.Sprintf("t%02d", i%tokens)
				if err := put(nodes[i%2], tok); err != nil {
					errc <- fmt.Errorf("put %s: %w", tok, err)
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	var sec *storage.Secret
	var vs []*storage.Version
	err = nodes[1].View(t.Context(), func(tx storage.Tx) (err error) {
		if sec, err = tx.SecretByARN(arn); err != nil {
			return err
		}
		vs, err = tx.Versions(arn, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != tokens+1 {
		t.Errorf("%d versions, want %d (one per token and v0)", len(vs), tokens+1)
	}
	count := map[string]int{}
	for _, labels := range sec.Stages {
		for _, l := range labels {
			count[l]++
		}
	}
	if count["AWSCURRENT"] != 1 || count["AWSPREVIOUS"] != 1 {
		t.Errorf("labels %v: want one AWSCURRENT and one AWSPREVIOUS", sec.Stages)
	}
	t.Logf("serialization retries: node 0 %d, node 1 %d", nodes[0].Retries(), nodes[1].Retries())
}

// TestCrossNodeCounter: read-modify-write of one row from two nodes loses
// no update.
func TestCrossNodeCounter(t *testing.T) {
	u := freshSchema(t)
	nodes := []*DB{openTest(t, u), openTest(t, u)}
	for _, n := range nodes {
		defer n.Close()
	}
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:counter-AAAAAA"
	sec := &storage.Secret{ARN: arn, Account: "123456789012", Region: "us-east-1", Name: "counter", Description: "0"}
	if err := nodes[0].Update(t.Context(), func(tx storage.Tx) error { return tx.InsertSecret(sec) }); err != nil {
		t.Fatal(err)
	}
	const each = 30
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for range each {
				err := nodes[g%2].Update(t.Context(), func(tx storage.Tx) error {
					s, err := tx.SecretByARN(arn)
					if err != nil {
						return err
					}
					var n int
					fmt.Sscan(s.Description, &n)
					s.Description = fmt.Sprint(n + 1)
					return tx.UpdateSecret(s)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var got *storage.Secret
	if err := nodes[1].View(t.Context(), func(tx storage.Tx) (err error) { got, err = tx.SecretByARN(arn); return err }); err != nil {
		t.Fatal(err)
	}
	if got.Description != fmt.Sprint(6*each) {
		t.Errorf("counter %s after %d increments", got.Description, 6*each)
	}
}

// TestInsertRaceReadsWinner: the "insert, on conflict read the winner"
// pattern (secrets.keyring) works when the winner commits on another node
// after this transaction's snapshot.
func TestInsertRaceReadsWinner(t *testing.T) {
	u := freshSchema(t)
	a, b := openTest(t, u), openTest(t, u)
	defer a.Close()
	defer b.Close()
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		first := true
		done <- a.Update(t.Context(), func(tx storage.Tx) error {
			if _, err := tx.Accounts(); err != nil { // take the snapshot now
				return err
			}
			if first {
				first = false
				close(started)
				<-release
			}
			k := &storage.Key{Account: "1", Region: "r", KeyID: "k", Material: []byte("a")}
			if err := tx.InsertKey(k); errors.Is(err, storage.ErrConflict) {
				got, err := tx.Key("1", "r", "k")
				if err != nil {
					return fmt.Errorf("read the winner: %w", err)
				}
				if string(got.Material) != "b" {
					return fmt.Errorf("winner material %q", got.Material)
				}
				return nil
			} else if err != nil {
				return err
			}
			return errors.New("insert won against a committed row")
		})
	}()
	<-started
	if err := b.Update(t.Context(), func(tx storage.Tx) error {
		return tx.InsertKey(&storage.Key{Account: "1", Region: "r", KeyID: "k", Material: []byte("b")})
	}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
