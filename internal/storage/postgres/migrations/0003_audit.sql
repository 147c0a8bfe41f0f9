-- 0003: the audit trail (package audit) and its signed digests, SQLite's
-- migration 0005 with PostgreSQL types, plus audit_head.
--
-- audit_records holds the hash-chained records in append order: seq runs
-- 1, 2, 3, ... without gaps. doc is the CloudTrail-shaped JSON record,
-- exactly the bytes hash covers; prev_hash is NULL for the first record.
-- audit_digests holds the signed checkpoints of the chain.
--
-- audit_head is one row (id 1) holding the seq and hash of the last record
-- (0 and NULL for an empty trail). It serializes appenders across nodes:
-- AuditHead in a write transaction reads it FOR UPDATE, and AppendAudit
-- advances it in the statement that inserts the record (see audit.go).

CREATE TABLE audit_records (
	seq        bigint NOT NULL PRIMARY KEY,
	time_ms    bigint NOT NULL,
	account    text NOT NULL,
	event_name text NOT NULL,
	doc        bytea,
	prev_hash  bytea,
	hash       bytea
);
-- Lookups of the trail by time (LookupEvents, pruning).
CREATE INDEX audit_records_by_time ON audit_records (time_ms);

CREATE TABLE audit_digests (
	seq       bigint NOT NULL PRIMARY KEY,
	hash      bytea,
	time_ms   bigint NOT NULL,
	key_id    text NOT NULL,
	signature bytea
);

CREATE TABLE audit_head (
	id   integer NOT NULL PRIMARY KEY CHECK (id = 1),
	seq  bigint NOT NULL,
	hash bytea
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);
