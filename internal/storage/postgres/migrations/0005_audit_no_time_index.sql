-- 0005: audit_records loses its index by time, as in SQLite's migration
-- 0007: no query ever used it, and every record paid for it.

DROP INDEX audit_records_by_time;
