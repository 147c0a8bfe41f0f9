-- 0006: the mark of the audit journal (package audit).
--
-- The journal is the write-ahead log of standalone audit records, whose
-- frames are later moved into audit_records. audit_journal is one row
-- (id 1) whose mark is the sequence number of the last journal frame whose
-- record is in audit_records (0 when none ever was). The mark is set in
-- the same transaction as the records it covers and never goes back, so a
-- frame at or below it is never moved twice. Snapshots do not carry it.
-- The PostgreSQL backend has the same table.

CREATE TABLE audit_journal (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), mark INTEGER NOT NULL) STRICT;
INSERT INTO audit_journal (id, mark) VALUES (1, 0);
