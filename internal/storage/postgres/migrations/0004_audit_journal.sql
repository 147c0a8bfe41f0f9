-- 0004: the mark of the audit journal (package audit), SQLite's migration
-- 0006 with PostgreSQL types.
--
-- The journal is the write-ahead log of standalone audit records, whose
-- frames are later moved into audit_records. audit_journal is one row
-- (id 1) whose mark is the sequence number of the last journal frame whose
-- record is in audit_records (0 when none ever was). The mark is set in
-- the same transaction as the records it covers and never goes back, so a
-- frame at or below it is never moved twice. Snapshots do not carry it.
-- AuditJournalMark in a write transaction reads the row FOR UPDATE, so
-- that writers of the mark on every node take turns (see audit.go).

CREATE TABLE audit_journal (
	id   integer NOT NULL PRIMARY KEY CHECK (id = 1),
	mark bigint NOT NULL
);
INSERT INTO audit_journal (id, mark) VALUES (1, 0);
