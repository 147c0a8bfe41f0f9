-- 0002: what ListSecrets needs to filter and sort inside SQLite.
--
-- Filters are answered from two index tables kept in step with secrets by
-- InsertSecret and UpdateSecret (search.go) and emptied by ON DELETE CASCADE
-- when a secret goes. They refer to a secret by a small integer, its
-- search_id, rather than by its ARN, which would be repeated in every row
-- of both tables and of their indexes. The index rows of the secrets that
-- exist when this migration runs are written by Go code right after it
-- (the word splitting is Go code: storage.Words).

-- search_id: the secret's key in the index tables, set when the secret is
-- written (max + 1; an id freed by a deletion has no index rows left).
-- search_digest: a digest of what the index rows are made from (name,
-- description, tags), so that an UpdateSecret that changes none of them
-- leaves the index rows alone.
ALTER TABLE secrets ADD COLUMN search_id INTEGER;
ALTER TABLE secrets ADD COLUMN search_digest BLOB;
UPDATE secrets SET search_id = rowid;
CREATE UNIQUE INDEX secrets_by_search_id ON secrets (search_id);

-- The tags of a secret, in their order, for the tag-key and tag-value
-- filters (case-sensitive prefix: a range scan on key or value).
CREATE TABLE secret_tags (
	id       INTEGER NOT NULL REFERENCES secrets (search_id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	key      TEXT    NOT NULL,
	value    TEXT    NOT NULL,
	PRIMARY KEY (id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX secret_tags_by_key ON secret_tags (key);
CREATE INDEX secret_tags_by_value ON secret_tags (value);

-- The distinct lower-cased words of a secret's name, description, tag keys
-- and tag values (storage.IndexWords), with a bit set of where each occurs
-- (1 name, 2 description, 4 tag key, 8 tag value), for the description and
-- all filters (word prefix: a range scan on word).
CREATE TABLE secret_words (
	id      INTEGER NOT NULL REFERENCES secrets (search_id) ON DELETE CASCADE,
	word    TEXT    NOT NULL,
	sources INTEGER NOT NULL,
	PRIMARY KEY (id, word)
) STRICT, WITHOUT ROWID;
CREATE INDEX secret_words_by_word ON secret_words (word, sources);

-- One index per ListSecrets order, inside (account, region) and ending
-- with the ARN that breaks ties, so that a page is a range scan starting
-- at the cursor. They also carry deletion_ms and search_id, so that a walk
-- tests a secret against the scope and the filter index without reading
-- its row. Name order keeps the unique secrets_by_name of 0001.
DROP INDEX secrets_by_created;
CREATE INDEX secrets_by_created ON secrets (account, region, created_ms, arn, deletion_ms, search_id);
CREATE INDEX secrets_by_changed ON secrets (account, region, last_changed_ms, arn, deletion_ms, search_id);
-- Descending last-accessed order: never accessed (0) comes last by itself.
CREATE INDEX secrets_by_accessed ON secrets (account, region, last_accessed_ms, arn, deletion_ms, search_id);
-- Ascending last-accessed order puts the never accessed last too: it sorts
-- on a key that maps 0 to the largest integer.
ALTER TABLE secrets ADD COLUMN accessed_order INTEGER
	GENERATED ALWAYS AS (IIF(last_accessed_ms = 0, 9223372036854775807, last_accessed_ms)) VIRTUAL;
CREATE INDEX secrets_by_accessed_order ON secrets (account, region, accessed_order, arn, deletion_ms, search_id);
