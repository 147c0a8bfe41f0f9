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
// writer.go for the protocol and the argument). Views run on a pool of
// read-only connections and see a snapshot; WAL lets them run alongside the
// writer. Every connection prepares each statement once and keeps it.
//
// Closures passed to View and Update must not call View or Update.
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
//	        last_accessed_ms, deletion_ms, attrs)
//	        UNIQUE (account, region, name); INDEX (account, region, created_ms, arn)
//	versions(secret_arn, version_id PK, seq, created_ms, last_accessed_ms,
//	         kms_key_id, is_binary, ciphertext)
//	         secret_arn REFERENCES secrets ON DELETE CASCADE
//	counters(name PK, value): the source of versions.seq
package sqlite
