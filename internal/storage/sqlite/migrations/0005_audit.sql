-- 0005: the audit trail (package audit) and its signed digests.
--
-- audit_records holds the hash-chained records in append order: seq runs
-- 1, 2, 3, ... without gaps (AppendAudit refuses any seq but the head's
-- plus one; the single writer connection serializes appenders). doc is the
-- CloudTrail-shaped JSON record, exactly the bytes hash covers; the other
-- columns are copies for lookups. prev_hash is NULL for the first record.
-- audit_digests holds the signed checkpoints of the chain. The PostgreSQL
-- backend has the same shape, plus a one-row head table that serializes
-- appenders across nodes.

CREATE TABLE audit_records (seq INTEGER NOT NULL PRIMARY KEY, time_ms INTEGER NOT NULL, account TEXT NOT NULL, event_name TEXT NOT NULL, doc BLOB, prev_hash BLOB, hash BLOB) STRICT;

-- Lookups of the trail by time (LookupEvents, pruning).
CREATE INDEX audit_records_by_time ON audit_records (time_ms);

CREATE TABLE audit_digests (seq INTEGER NOT NULL PRIMARY KEY, hash BLOB, time_ms INTEGER NOT NULL, key_id TEXT NOT NULL, signature BLOB) STRICT;
