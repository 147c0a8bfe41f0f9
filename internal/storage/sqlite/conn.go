package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
)

// stmtID names one of the statements a connection prepares once and keeps.
type stmtID int

const (
	stBegin stmtID = iota
	stBeginImmediate
	stCommit
	stRollback
	stSavepoint
	stRelease
	stRollbackTo
	stSnapshot

	stInsertAccount
	stAccount
	stInsertAccessKey
	stAccessKey
	stInsertKey
	stKey
	// IAM (iam.go).
	stAccounts
	stUpdateAccessKey
	stDeleteAccessKey
	stAccessKeys
	stInsertEntity
	stEntity
	stUpdateEntity
	stDeleteEntity
	stEntities
	// The audit trail (audit.go).
	stAuditHead
	stAppendAudit
	stAppendAuditBlock
	stAuditRecords
	stInsertAuditDigest
	stAuditDigests
	stAuditJournalMark
	stSetAuditJournalMark

	stInsertSecret
	stUpdateSecret
	stDeleteSecret
	stSecretByName
	stSecretByARN
	stListSecretsFirst
	stExpiredSecrets
	stListSecretsAfter
	// The filter index of ListSecrets (search.go).
	stSearchInsert
	stSearchRefresh
	stSearchClearWords
	stSearchClearTags
	stSearchWords
	stSearchTags

	stInsertVersion
	stBumpVersionSeq
	stUpdateVersion
	stDeleteVersion
	stVersion
	stVersionsWithValues
	stVersionsNoValues

	numStmts
)

// secretCols is the column list every secret query reads, in scanSecret's order.
const secretCols = `arn, account, region, name, description, kms_key_id, type,
	tags, tags_set, stages, created_ms, last_changed_ms, last_accessed_ms, deletion_ms, attrs`

// versionCols is the column list of Version reads without the ciphertext;
// scanVersion's order.
const versionCols = `secret_arn, version_id, seq, created_ms, last_accessed_ms, kms_key_id, is_binary`

var queries = [numStmts]string{
	// The group's savepoint has one fixed name: savepoints are never nested.
	stBegin:          "BEGIN",
	stBeginImmediate: "BEGIN IMMEDIATE",
	stCommit:         "COMMIT",
	stRollback:       "ROLLBACK",
	stSavepoint:      "SAVEPOINT closure",
	stRelease:        "RELEASE closure",
	stRollbackTo:     "ROLLBACK TO closure",
	// Any read of a table makes a read transaction take its snapshot.
	stSnapshot: "SELECT 1 FROM schema_migrations LIMIT 1",

	stInsertAccount: "INSERT INTO accounts (id, created_ms) VALUES (?, ?)",
	stAccount:       "SELECT id, created_ms FROM accounts WHERE id = ?",
	stInsertAccessKey: `INSERT INTO access_keys (id, account, principal, secret_ciphertext, active, created_ms)
		VALUES (?, ?, ?, ?, ?, ?)`,
	stAccessKey: `SELECT id, account, principal, secret_ciphertext, active, created_ms
		FROM access_keys WHERE id = ?`,
	stInsertKey: "INSERT INTO keys (account, region, key_id, material, created_ms) VALUES (?, ?, ?, ?, ?)",
	stKey: `SELECT account, region, key_id, material, created_ms
		FROM keys WHERE account = ? AND region = ? AND key_id = ?`,

	stAccounts: "SELECT id, created_ms FROM accounts ORDER BY id",
	stUpdateAccessKey: `UPDATE access_keys SET account = ?2, principal = ?3, secret_ciphertext = ?4,
		active = ?5, created_ms = ?6 WHERE id = ?1`,
	stDeleteAccessKey: "DELETE FROM access_keys WHERE id = ?",
	// Walks the index access_keys_principal (migration 0004).
	stAccessKeys: `SELECT id, account, principal, secret_ciphertext, active, created_ms
		FROM access_keys WHERE account = ? AND principal = ? ORDER BY created_ms, id`,
	stInsertEntity: `INSERT INTO iam_entities (account, kind, name_key, name, id, path, created_ms, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	stEntity: `SELECT account, kind, name, id, path, created_ms, doc
		FROM iam_entities WHERE account = ? AND kind = ? AND name_key = ?`,
	stUpdateEntity: `UPDATE iam_entities SET name = ?4, id = ?5, path = ?6, created_ms = ?7, doc = ?8
		WHERE account = ?1 AND kind = ?2 AND name_key = ?3`,
	stDeleteEntity: "DELETE FROM iam_entities WHERE account = ? AND kind = ? AND name_key = ?",
	stEntities: `SELECT account, kind, name, id, path, created_ms, doc
		FROM iam_entities WHERE account = ? AND kind = ? ORDER BY name_key, name`,

	// The audit trail (migrations 0005, 0007 and 0008): records are rows of
	// audit_records or blocks of audit_blocks (auditblock.go), never both.
	// AppendAudit checks that a record is the head's successor before it
	// inserts it.
	stAuditHead: `SELECT seq, hash FROM (SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1)
		UNION ALL SELECT last_seq, last_hash FROM (SELECT last_seq, last_hash FROM audit_blocks ORDER BY first_seq DESC LIMIT 1)
		ORDER BY 1 DESC LIMIT 1`,
	stAppendAudit:      "INSERT INTO audit_records (" + auditCols + ") VALUES (?, ?, ?, ?, ?, ?, ?)",
	stAppendAuditBlock: "INSERT INTO audit_blocks (first_seq, last_seq, last_hash, data) VALUES (?, ?, ?, ?)",
	// A row has last 0; a block has its first record's seq and its last's.
	// The blocks from the one holding record ?1 on, found by their primary
	// key (blocks do not overlap), so that a page costs the same wherever
	// it starts; the two sides are merged in seq order.
	stAuditRecords: `SELECT seq, 0, time_ms, account, event_name, doc, prev_hash, hash FROM audit_records WHERE seq > ?1
		UNION ALL SELECT first_seq, last_seq, 0, '', '', data, NULL, NULL FROM audit_blocks
		WHERE first_seq >= (SELECT coalesce(max(first_seq), 0) FROM audit_blocks WHERE first_seq <= ?1) AND last_seq > ?1
		ORDER BY 1 LIMIT ?2`,
	stInsertAuditDigest: `INSERT INTO audit_digests (seq, hash, time_ms, key_id, signature)
		VALUES (?, ?, ?, ?, ?)`,
	stAuditDigests: "SELECT " + auditDigestCols + " FROM audit_digests ORDER BY seq",
	// The mark of the audit journal (migration 0006). The update happens
	// only when the mark does not go back; no row updated is ErrConflict.
	stAuditJournalMark:    "SELECT mark FROM audit_journal WHERE id = 1",
	stSetAuditJournalMark: "UPDATE audit_journal SET mark = ?1 WHERE id = 1 AND mark <= ?1",

	stInsertSecret: "INSERT INTO secrets (" + secretCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	stUpdateSecret: `UPDATE secrets SET account = ?2, region = ?3, name = ?4, description = ?5,
		kms_key_id = ?6, type = ?7, tags = ?8, tags_set = ?9, stages = ?10, created_ms = ?11,
		last_changed_ms = ?12, last_accessed_ms = ?13, deletion_ms = ?14, attrs = ?15
		WHERE arn = ?1`,
	stDeleteSecret: "DELETE FROM secrets WHERE arn = ?",
	stSecretByName: "SELECT " + secretCols + " FROM secrets WHERE account = ? AND region = ? AND name = ?",
	stSecretByARN:  "SELECT " + secretCols + " FROM secrets WHERE arn = ?",
	// Walks the partial index secrets_by_deletion (migration 0003).
	stExpiredSecrets: `SELECT arn FROM secrets WHERE deletion_ms > 0 AND deletion_ms <= ?
		ORDER BY deletion_ms LIMIT ?`,
	// Both page queries walk the index secrets_by_created.
	stListSecretsFirst: "SELECT " + secretCols + ` FROM secrets
		WHERE account = ?1 AND region = ?2 AND (?3 OR deletion_ms = 0)
		ORDER BY created_ms, arn LIMIT ?4`,
	stListSecretsAfter: "SELECT " + secretCols + ` FROM secrets
		WHERE account = ?1 AND region = ?2 AND (?3 OR deletion_ms = 0)
		AND (created_ms, arn) > (?5, ?6)
		ORDER BY created_ms, arn LIMIT ?4`,
	// Filter index upkeep (search.go): see migrations/0002_list_filters.sql.
	stSearchInsert: `UPDATE secrets SET search_id = (SELECT coalesce(max(search_id), 0) + 1 FROM secrets),
		search_digest = ?2 WHERE arn = ?1 RETURNING search_id`,
	stSearchRefresh: `UPDATE secrets SET search_digest = ?2
		WHERE arn = ?1 AND search_digest IS NOT ?2 RETURNING search_id`,
	stSearchClearWords: "DELETE FROM secret_words WHERE id = ?",
	stSearchClearTags:  "DELETE FROM secret_tags WHERE id = ?",
	stSearchWords: `INSERT INTO secret_words (id, word, sources)
		SELECT ?1, value ->> 0, value ->> 1 FROM json_each(?2)`,
	stSearchTags: `INSERT INTO secret_tags (id, position, key, value)
		SELECT ?1, key, value ->> 'Key', value ->> 'Value' FROM json_each(?2)`,

	// The new version takes the next value of the counter; stBumpVersionSeq
	// then advances the counter, only after the insert succeeded.
	stInsertVersion: `INSERT INTO versions (secret_arn, version_id, seq, created_ms, last_accessed_ms,
		kms_key_id, is_binary, ciphertext)
		VALUES (?1, ?2, (SELECT value + 1 FROM counters WHERE name = 'version_seq'), ?3, ?4, ?5, ?6, ?7)
		RETURNING seq`,
	stBumpVersionSeq: "UPDATE counters SET value = value + 1 WHERE name = 'version_seq'",
	stUpdateVersion: `UPDATE versions SET created_ms = ?3, last_accessed_ms = ?4, kms_key_id = ?5,
		is_binary = ?6, ciphertext = ?7 WHERE secret_arn = ?1 AND version_id = ?2`,
	stDeleteVersion: "DELETE FROM versions WHERE secret_arn = ? AND version_id = ?",
	stVersion: "SELECT " + versionCols + `, ciphertext IS NOT NULL, ciphertext
		FROM versions WHERE secret_arn = ? AND version_id = ?`,
	stVersionsWithValues: "SELECT " + versionCols + `, ciphertext IS NOT NULL, ciphertext
		FROM versions WHERE secret_arn = ? ORDER BY created_ms, seq`,
	stVersionsNoValues: "SELECT " + versionCols + `
		FROM versions WHERE secret_arn = ? ORDER BY created_ms, seq`,
}

// conn is one SQLite connection with its prepared statements. Preparing a
// statement costs more than most of the point reads it then serves, so each
// connection prepares a statement the first time it runs it and keeps it for
// its lifetime. A conn is used by one goroutine at a time.
type conn struct {
	sc    *sql.Conn
	stmts [numStmts]*sql.Stmt
	// block is the buffer AppendAudit encodes audit blocks in (the
	// statement copies its parameters, so one buffer serves them all).
	block []byte
}

func (c *conn) stmt(id stmtID) (*sql.Stmt, error) {
	if s := c.stmts[id]; s != nil {
		return s, nil
	}
	s, err := c.sc.PrepareContext(context.Background(), queries[id])
	if err != nil {
		return nil, err
	}
	c.stmts[id] = s
	return s, nil
}

// exec runs a statement without context: a statement that has started is
// never interrupted (an interrupt can roll back a whole transaction group).
func (c *conn) exec(id stmtID, args ...any) (sql.Result, error) {
	s, err := c.stmt(id)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(context.Background(), args...)
}

func (c *conn) query(id stmtID, args ...any) (*sql.Rows, error) {
	s, err := c.stmt(id)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(context.Background(), args...)
}

// close closes the statements and the connection. With discard set, the
// driver connection is thrown away rather than returned to the sql.DB pool,
// for a connection whose state is in doubt (say, a ROLLBACK that failed).
func (c *conn) close(discard bool) error {
	var errs []error
	for i, s := range c.stmts {
		if s != nil {
			errs = append(errs, s.Close())
			c.stmts[i] = nil
		}
	}
	if discard {
		// Returning driver.ErrBadConn from Raw makes database/sql close the
		// driver connection instead of pooling it.
		_ = c.sc.Raw(func(any) error { return driver.ErrBadConn })
	}
	if err := c.sc.Close(); err != nil && !errors.Is(err, sql.ErrConnDone) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
