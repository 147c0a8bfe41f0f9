package sqlite

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/coffer-dev/coffer/internal/storage"
)

// The read cache. doc.go states what it promises and why that holds; this is
// the mechanism.
//
// Three maps, guarded by mu: secrets by ARN, an index from (account, region,
// name) to ARN, and versions grouped by secret ARN. Every entry is a private
// copy equal to the record in the latest committed state of the database,
// except for the ARNs of the group commit in flight, which are "pending":
// their entries were dropped before the COMMIT and none is looked up or
// stored until that commit has ended.
//
// The writer, for a group that touched secrets (writer.group):
//
//	begin(arns): barrier.Lock; mu.Lock; drop arns; mark them pending; gen++
//	COMMIT (or ROLLBACK)
//	end(arns):   mu.Lock; unmark them; gen++
//
// and only then reports to the group's callers.
//
// A View reads the cache while holding barrier.RLock (it "pins" the cache),
// from its first cached read until fn returns or it moves to SQL, and it
// moves to SQL only after its SQL snapshot is established. So no commit that
// touches secrets starts between a View's first cached read and its SQL
// snapshot: what the View read from the cache and what it reads from SQL
// belong to one state of the database.
//
// A View that read a record from SQL stores a copy (fill) only if gen has not
// moved since before its SQL snapshot began and the ARN is not pending: then
// no commit that touched secrets began or ended in between, so the record
// read is the latest committed one, or its ARN is pending and nothing is
// stored.
type cache struct {
	// barrier keeps the writer's begin from running while a View reads the
	// cache before its SQL snapshot. Lock order: barrier, then mu.
	barrier sync.RWMutex
	// gen counts the writer's begin and end steps. Written under mu, read
	// anywhere.
	gen atomic.Uint64

	mu       sync.RWMutex
	secrets  map[string]*secretEntry
	names    map[nameKey]string
	versions map[string]map[string]*storage.Version
	pending  map[string]struct{}
	nvers    int // versions held, over every ARN
	vbytes   int // ciphertext bytes held

	maxSecrets, maxVersions, maxBytes int
}

type nameKey struct{ account, region, name string }

type secretEntry struct {
	key nameKey
	s   *storage.Secret
}

// Default bounds of the cache (WithCache).
const (
	DefaultCacheSecrets  = 10000
	DefaultCacheVersions = 50000
	// cacheMaxBytes bounds the ciphertext the cache holds (a version value
	// may be up to 64 KiB).
	cacheMaxBytes = 64 << 20
)

// newCache returns a cache of at most maxSecrets secrets and maxVersions
// versions, or nil (no cache) when either is 0.
func newCache(maxSecrets, maxVersions int) *cache {
	if maxSecrets <= 0 || maxVersions <= 0 {
		return nil
	}
	return &cache{
		secrets:     make(map[string]*secretEntry),
		names:       make(map[nameKey]string),
		versions:    make(map[string]map[string]*storage.Version),
		pending:     make(map[string]struct{}),
		maxSecrets:  maxSecrets,
		maxVersions: maxVersions,
		maxBytes:    cacheMaxBytes,
	}
}

// Lookups, with barrier.RLock held by the caller. They return the cache's own
// record: the caller copies it before handing it out.

func (c *cache) secretByName(k nameKey) *storage.Secret {
	c.mu.RLock()
	defer c.mu.RUnlock()
	arn, ok := c.names[k]
	if !ok {
		return nil
	}
	// The index may point at an ARN whose entry went or changed name; only
	// an entry that still has this name answers (names are unique).
	e := c.secrets[arn]
	if e == nil || e.key != k {
		return nil
	}
	if _, ok := c.pending[arn]; ok {
		return nil
	}
	return e.s
}

func (c *cache) secretByARN(arn string) *storage.Secret {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.secrets[arn]
	if e == nil {
		return nil
	}
	if _, ok := c.pending[arn]; ok {
		return nil
	}
	return e.s
}

func (c *cache) version(arn, id string) *storage.Version {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v := c.versions[arn][id]
	if v == nil {
		return nil
	}
	if _, ok := c.pending[arn]; ok {
		return nil
	}
	return v
}

// Fills. gen is what the View loaded before its SQL snapshot began; s and v
// are what it read and are copied.

func (c *cache) fillSecret(gen uint64, s *storage.Secret) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fresh(gen, s.ARN) {
		return
	}
	if old := c.secrets[s.ARN]; old != nil {
		c.dropSecret(s.ARN, old)
	} else if len(c.secrets) >= c.maxSecrets {
		for arn, e := range c.secrets { // an arbitrary one
			c.dropSecret(arn, e)
			break
		}
	}
	k := nameKey{s.Account, s.Region, s.Name}
	c.secrets[s.ARN] = &secretEntry{key: k, s: cloneSecret(s)}
	c.names[k] = s.ARN
}

func (c *cache) fillVersion(gen uint64, v *storage.Version) {
	size := len(v.Ciphertext)
	if size > c.maxBytes/16 {
		return // not worth crowding out everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fresh(gen, v.SecretARN) {
		return
	}
	vs := c.versions[v.SecretARN]
	if old := vs[v.VersionID]; old != nil {
		c.nvers--
		c.vbytes -= len(old.Ciphertext)
		delete(vs, v.VersionID)
	}
	// Make room by dropping the versions of arbitrary other secrets.
	for c.nvers >= c.maxVersions || c.vbytes+size > c.maxBytes {
		dropped := false
		for arn := range c.versions {
			if arn != v.SecretARN {
				c.dropVersions(arn)
				dropped = true
				break
			}
		}
		if !dropped { // only this secret's versions are held
			c.dropVersions(v.SecretARN)
			break
		}
	}
	vs = c.versions[v.SecretARN]
	if vs == nil {
		vs = make(map[string]*storage.Version, 2)
		c.versions[v.SecretARN] = vs
	}
	vs[v.VersionID] = cloneVersion(v)
	c.nvers++
	c.vbytes += size
}

// fresh reports whether a record of arn read from a snapshot that began
// after gen was loaded is still the latest committed one. mu is held.
func (c *cache) fresh(gen uint64, arn string) bool {
	if c.gen.Load() != gen {
		return false
	}
	_, pending := c.pending[arn]
	return !pending
}

// begin runs before a group that touched arns commits (or rolls back): it
// waits for the Views reading the cache before their SQL snapshot, drops
// every entry of arns and marks them pending.
func (c *cache) begin(arns []string) {
	c.barrier.Lock()
	defer c.barrier.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, arn := range arns {
		if e := c.secrets[arn]; e != nil {
			c.dropSecret(arn, e)
		}
		c.dropVersions(arn)
		c.pending[arn] = struct{}{}
	}
	c.gen.Add(1)
}

// end runs after the COMMIT (or ROLLBACK) of the group begin ran for, and
// before its callers hear the outcome. No entry of arns was stored since
// begin (they were pending), so the cache is right for the new state.
func (c *cache) end(arns []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, arn := range arns {
		delete(c.pending, arn)
	}
	c.gen.Add(1)
}

func (c *cache) dropSecret(arn string, e *secretEntry) {
	delete(c.secrets, arn)
	if c.names[e.key] == arn {
		delete(c.names, e.key)
	}
}

func (c *cache) dropVersions(arn string) {
	for _, v := range c.versions[arn] {
		c.nvers--
		c.vbytes -= len(v.Ciphertext)
	}
	delete(c.versions, arn)
}

// size returns the number of secrets and versions held (for tests).
func (c *cache) size() (secrets, versions int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.secrets), c.nvers
}

// cloneSecret returns a deep copy of s that keeps what is nil nil and what
// is empty empty. The label lists share one backing array, each capped so
// that an append to one never writes into the next.
func cloneSecret(s *storage.Secret) *storage.Secret {
	c := *s
	c.Tags = slices.Clone(s.Tags)
	c.Attrs = bytes.Clone(s.Attrs)
	if s.Stages != nil {
		c.Stages = make(map[string][]string, len(s.Stages))
		n := 0
		for _, labels := range s.Stages {
			n += len(labels)
		}
		all := make([]string, 0, n)
		for id, labels := range s.Stages {
			if labels == nil {
				c.Stages[id] = nil
				continue
			}
			start := len(all)
			all = append(all, labels...)
			c.Stages[id] = all[start:len(all):len(all)]
		}
	}
	return &c
}

func cloneVersion(v *storage.Version) *storage.Version {
	c := *v
	c.Ciphertext = bytes.Clone(v.Ciphertext)
	return &c
}
