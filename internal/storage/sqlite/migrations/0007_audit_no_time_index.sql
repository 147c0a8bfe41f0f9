-- 0007: audit_records loses its index by time.
--
-- No query ever used it: lookups read the trail in seq order and filter
-- the records themselves. Every record paid for it, in a second B-tree
-- insert and its pages in the WAL. The PostgreSQL backend drops it too.

DROP INDEX audit_records_by_time;
