-- 0001: the initial schema.
--
-- Times are INTEGER unix milliseconds in UTC; 0 stands for the zero time.
-- Booleans are INTEGER 0 or 1. Ciphertext, sealed key material and Attrs are
-- opaque BLOBs; tags and staging labels are JSON text. Every table is STRICT
-- so that a value of the wrong type is refused instead of silently converted.

CREATE TABLE accounts (
	id         TEXT    NOT NULL PRIMARY KEY,
	created_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE access_keys (
	id                TEXT    NOT NULL PRIMARY KEY,
	account           TEXT    NOT NULL,
	principal         TEXT    NOT NULL,
	secret_ciphertext BLOB,
	active            INTEGER NOT NULL,
	created_ms        INTEGER NOT NULL
) STRICT;

CREATE TABLE keys (
	account    TEXT    NOT NULL,
	region     TEXT    NOT NULL,
	key_id     TEXT    NOT NULL,
	material   BLOB,
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (account, region, key_id)
) STRICT;

CREATE TABLE secrets (
	arn              TEXT    NOT NULL PRIMARY KEY,
	account          TEXT    NOT NULL,
	region           TEXT    NOT NULL,
	name             TEXT    NOT NULL,
	description      TEXT    NOT NULL,
	kms_key_id       TEXT    NOT NULL,
	type             TEXT    NOT NULL,
	tags             TEXT,             -- JSON [{"Key":..,"Value":..}], NULL when empty
	tags_set         INTEGER NOT NULL,
	stages           TEXT,             -- JSON {"version id": ["label", ...]}, NULL when empty
	created_ms       INTEGER NOT NULL,
	last_changed_ms  INTEGER NOT NULL,
	last_accessed_ms INTEGER NOT NULL,
	deletion_ms      INTEGER NOT NULL, -- 0: active; otherwise scheduled for deletion
	attrs            BLOB              -- opaque JSON owned by the domain, NULL when empty
) STRICT;

-- A name is unique in (account, region) among the secrets that exist.
CREATE UNIQUE INDEX secrets_by_name ON secrets (account, region, name);
-- ListSecrets pages through (created_ms, arn) inside one account and region.
CREATE INDEX secrets_by_created ON secrets (account, region, created_ms, arn);

CREATE TABLE versions (
	secret_arn       TEXT    NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
	version_id       TEXT    NOT NULL,
	seq              INTEGER NOT NULL, -- from counters 'version_seq': increasing per store
	created_ms       INTEGER NOT NULL,
	last_accessed_ms INTEGER NOT NULL,
	kms_key_id       TEXT    NOT NULL,
	is_binary        INTEGER NOT NULL,
	-- Last, so that reading the other columns never walks a large value's
	-- overflow pages. NULL for a version without a value (a placeholder).
	ciphertext       BLOB,
	PRIMARY KEY (secret_arn, version_id)
) STRICT;

-- Named monotonic counters; a row is only ever incremented.
CREATE TABLE counters (
	name  TEXT    NOT NULL PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO counters (name, value) VALUES ('version_seq', 0);
