-- 0004: IAM users, groups, roles and customer managed policies.
--
-- An entity is addressed by (account, kind, name_key), where name_key is the
-- lower-cased name: IAM names compare case-insensitively while name keeps
-- the case it was created with. doc is an opaque JSON document owned by
-- package iam (tags, inline and attached policies, memberships, trust
-- policy, policy versions). The PostgreSQL backend has the same shape.

CREATE TABLE iam_entities (account TEXT NOT NULL, kind TEXT NOT NULL, name_key TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL, path TEXT NOT NULL, created_ms INTEGER NOT NULL, doc BLOB NOT NULL, PRIMARY KEY (account, kind, name_key)) STRICT;

-- ListAccessKeys and the deletion checks find a principal's keys.
CREATE INDEX access_keys_principal ON access_keys (account, principal);
