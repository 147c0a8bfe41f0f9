package sqlite

import (
	"fmt"

	"github.com/coffer-dev/coffer/internal/storage"
)

// A View's life (see cache.go for the writer's side):
//
//  1. Cached reads. SecretByName, SecretByARN and Version look in the cache
//     first; the first lookup pins the cache (barrier.RLock). A hit returns
//     a copy of the cached record.
//  2. The SQL transaction, begun by the first read the cache cannot answer
//     (a miss, or a method that always reads SQL): take a read connection,
//     load the cache generation, BEGIN, and, if the View has served a
//     record from the cache, run one statement so that SQLite takes the
//     snapshot now; then unpin. From then on every read goes to SQL, and a
//     record read by SecretByName, SecretByARN or Version is stored in the
//     cache if nothing may have changed it since the generation was loaded.
//  3. When fn returns: unpin if pinned, roll the SQL transaction back if one
//     began, and give the connection back.

// pin starts reading the cache, if there is one and the View has not moved
// to SQL; false means: read SQL.
func (t *tx) pin() bool {
	if t.write || t.c != nil || t.db.cache == nil {
		return false
	}
	if !t.pinned {
		t.db.cache.barrier.RLock()
		t.pinned = true
	}
	return true
}

func (t *tx) unpin() {
	if t.pinned {
		t.pinned = false
		t.db.cache.barrier.RUnlock()
	}
}

// cachedSecret returns a copy of the cached secret named k or, when arn is
// set, of the one with that ARN; nil when the cache cannot answer.
func (t *tx) cachedSecret(k nameKey, arn string) *storage.Secret {
	if !t.pin() {
		return nil
	}
	var s *storage.Secret
	if arn != "" {
		s = t.db.cache.secretByARN(arn)
	} else {
		s = t.db.cache.secretByName(k)
	}
	if s == nil {
		return nil
	}
	t.served = true
	return cloneSecret(s)
}

func (t *tx) cachedVersion(arn, id string) *storage.Version {
	if !t.pin() {
		return nil
	}
	v := t.db.cache.version(arn, id)
	if v == nil {
		return nil
	}
	t.served = true
	return cloneVersion(v)
}

// fillSecret offers s, just read through SQL, to the cache; the cache keeps a
// copy, so s remains the caller's.
func (t *tx) fillSecret(s *storage.Secret) {
	if !t.write && t.db.cache != nil {
		t.db.cache.fillSecret(t.gen, s)
	}
}

func (t *tx) fillVersion(v *storage.Version) {
	if !t.write && t.db.cache != nil {
		t.db.cache.fillVersion(t.gen, v)
	}
}

// begin begins a View's SQL transaction.
func (t *tx) begin() error {
	db := t.db
	if !t.served {
		// Nothing came from the cache: no snapshot to agree with, and no
		// reason to hold up commits while waiting for a connection.
		t.unpin()
	}
	c, err := db.reader(t.ctx)
	if err != nil {
		return fmt.Errorf("sqlite: view: %w", err)
	}
	if db.cache != nil {
		t.gen = db.cache.gen.Load()
	}
	if _, err := c.exec(stBegin); err != nil {
		db.discard(&c, "begin", err)
		db.readers <- c
		return fmt.Errorf("sqlite: view: begin: %w", err)
	}
	db.begins.Add(1)
	t.c = c // endView rolls back from here on
	if t.pinned {
		// BEGIN is deferred: SQLite takes the snapshot at the first read.
		// Take it while pinned, so that no commit touching secrets lands
		// between the cached reads and the snapshot.
		if err := t.snapshot(); err != nil {
			return err
		}
		t.unpin()
	}
	return nil
}

// snapshot runs a read so that the transaction has its snapshot.
func (t *tx) snapshot() error {
	rows, err := t.c.query(stSnapshot)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: view: begin: %w", err)
	}
	return nil
}

// endView ends a View once fn has returned (or panicked).
func (t *tx) endView() {
	t.done = true
	t.unpin()
	if c := t.c; c != nil {
		// A read transaction has nothing to commit.
		if _, err := c.exec(stRollback); err != nil {
			t.db.discard(&c, "rollback", err)
		}
		t.db.readers <- c
	}
}
