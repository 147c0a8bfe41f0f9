-- 0002: leases for background work that must run once across the nodes of a
-- cluster (lease.go). SQLite has no such table: only one process can open
-- a SQLite database.
--
-- A lease is held by holder until expires_ms (database clock, unix ms); a
-- holder renews it before then, and anyone may take it once it has expired.

CREATE TABLE leases (
	name       text COLLATE "C" NOT NULL PRIMARY KEY,
	holder     text NOT NULL,
	expires_ms bigint NOT NULL,
	acquired_ms bigint NOT NULL
);
