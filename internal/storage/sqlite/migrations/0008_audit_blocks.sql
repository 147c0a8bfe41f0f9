-- 0008: blocks of audit records (auditblock.go).
--
-- A batch of records appended at once (the audit journal's mover moves
-- hundreds) is kept as blocks rather than a row each: a block holds the
-- records first_seq..last_seq, every field of each as AppendAudit was
-- given it, each document stored as its difference from the one before;
-- last_hash is the last record's hash, for the head of the trail. A record is a row of audit_records or in one block,
-- never both. The PostgreSQL backend keeps rows only.

CREATE TABLE audit_blocks (first_seq INTEGER NOT NULL PRIMARY KEY, last_seq INTEGER NOT NULL, last_hash BLOB, data BLOB NOT NULL) STRICT;
