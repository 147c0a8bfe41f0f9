// Package sqlite is coffer's embedded, default storage backend: a
// storage.Store in one SQLite database file, on the pure-Go driver
// modernc.org/sqlite, so the coffer binary stays static and needs no cgo.
//
// Only internal/server (which picks the backend) and tests may import this
// package; the domain packages use the storage interfaces alone.
//
// # Durability and concurrency
//
// The database runs in WAL mode with synchronous=FULL: when Update returns
// nil, its transaction has been fsynced and survives a crash of the process
// or the machine. One writer goroutine owns the only write connection and
// commits concurrent Updates in groups, one transaction and one fsync per
// group, each closure in its own savepoint so that it fails alone (see
// writer.go for the protocol and the argument). Views see a snapshot and
// read through the read cache (below) or a pool of read-only connections;
// WAL lets them run alongside the writer. Every connection prepares each
// statement once and keeps it.
//
// Closures passed to View and Update must not call View or Update, and a
// View's closure must not wait for an Update (made by any goroutine) to
// return: a commit may wait for that View to move on (see below).
//
// # One process per database
//
// Open takes an exclusive, non-blocking flock on the file <path>.lock
// (mode 0600) and holds it until Close; a second Open of the same database,
// by another coffer process or by this one, fails with an error wrapping
// ErrInUse ("database <path> is in use by another coffer process"). The
// kernel drops the lock when the process ends, however it ends. So every
// write to the database goes through this DB's writer, which is what makes
// a process-local cache correct. (Where flock is missing, outside the Unix
// systems lock_unix.go names, no lock is taken and the cache is off.)
//
// # Read cache
//
// The point reads of the hot path, SecretByName, SecretByARN and Version in
// a View, are served from memory when possible: GetSecretValue then costs
// no SQL transaction, no statement and no JSON decoding. The cache holds
// secrets by ARN, an index (account, region, name) -> ARN, and versions by
// (secret ARN, version id); it is bounded by WithCache (defaults 10,000
// secrets and 50,000 versions, and 64 MiB of ciphertext), and when full it
// drops arbitrary entries (for versions, all those of an arbitrary secret).
// Only records that exist are cached, never a miss; ListSecrets, Versions,
// Account, AccessKey and Key always read SQL, and so does every read in an
// Update, which never fills the cache either. A record handed out is a deep
// copy (Stages, Tags, Attrs, Ciphertext), the caller's to change.
//
// A View begins its SQL transaction lazily, at the first read the cache
// cannot answer; a View the cache answers entirely begins none and needs no
// connection. Records a View reads through SQL are copied into the cache
// under the rule below.
//
// Invariants (cache.go and view.go have the mechanism):
//
//  1. Every entry equals the record in the latest committed state of the
//     database, except entries of secrets a commit in flight writes: those
//     are dropped before the COMMIT and marked pending until it ended, and
//     a pending secret is neither looked up nor stored.
//  2. Each Update closure records the ARNs of the secrets it writes
//     (InsertSecret, UpdateSecret, DeleteSecret and the version writes);
//     a closure rolled back to its savepoint changed nothing and its list
//     is dropped. Before the group's COMMIT the writer drops every entry of
//     those ARNs (secret, name index, versions), marks them pending and
//     increments the generation; after the COMMIT, failed or not, it
//     unmarks them and increments the generation again; only then does any
//     Update of the group return. So a View that starts after an Update
//     returned finds no entry older than that Update.
//  3. A View stores a record it read through SQL only if the generation
//     has not moved since before its SQL snapshot began and the secret is
//     not pending: then no commit that writes secrets began or ended in
//     between, so the record is the latest committed one (this is the
//     classic stale-fill race: a reader that read before a commit must not
//     store what it read after the commit invalidated the entry).
//  4. A View holds a shared lock (barrier) from its first cached read until
//     its SQL snapshot is established, and the writer takes that lock
//     exclusively to drop and mark entries before a COMMIT: no commit that
//     writes secrets lands between the cached reads of a View and its SQL
//     reads, so all of them belong to one state of the database, the
//     snapshot View promises. (Commits that write no secret do not wait:
//     they change nothing the cache holds.)
//
// None of this would hold if another process wrote the file behind the
// cache's back; the lock above rules that out.
//
// # Schema
//
// The schema is created and upgraded by the numbered SQL files in
// migrations/, applied at Open in one transaction and recorded in the table
// schema_migrations. Open refuses a database whose schema is newer than the
// program's. Times are INTEGER unix milliseconds in UTC (0 for the zero
// time), tags and staging labels are JSON text, ciphertexts and Attrs BLOBs:
//
//	accounts(id PK, created_ms)
//	access_keys(id PK, account, principal, secret_ciphertext, active, created_ms)
//	keys(account, region, key_id PK, material, created_ms)
//	secrets(arn PK, account, region, name, description, kms_key_id, type,
//	        tags, tags_set, stages, created_ms, last_changed_ms,
//	        last_accessed_ms, deletion_ms, attrs,
//	        search_id UNIQUE, search_digest, accessed_order (generated))
//	        UNIQUE (account, region, name); one INDEX per ListSecrets order:
//	        (account, region, <created_ms | last_changed_ms | last_accessed_ms |
//	        accessed_order>, arn, deletion_ms, search_id)
//	secret_tags(id, position PK, key, value), INDEX (key), INDEX (value)
//	secret_words(id, word PK, sources), INDEX (word, sources)
//	        id REFERENCES secrets (search_id) ON DELETE CASCADE: the filter
//	        index of ListSecrets (search.go, list.go)
//	versions(secret_arn, version_id PK, seq, created_ms, last_accessed_ms,
//	         kms_key_id, is_binary, ciphertext)
//	         secret_arn REFERENCES secrets ON DELETE CASCADE
//	counters(name PK, value): the source of versions.seq
//	iam_entities(account, kind, name_key PK, name, id, path, created_ms, doc)
//	audit_records(seq PK, time_ms, account, event_name, doc, prev_hash, hash)
//	audit_blocks(first_seq PK, last_seq, last_hash, data): batches
//	        of audit records, each document stored as its difference from
//	        the one before (auditblock.go); a record is a row or in a block
//	audit_digests(seq PK, hash, time_ms, key_id, signature)
//	audit_journal(id PK = 1, mark)
package sqlite
