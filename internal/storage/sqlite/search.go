package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/storage"
)

// The filter index of ListSecrets.
//
// Every secret has a search_id and a search_digest (of its name,
// description and tags) in its row, its tags in secret_tags and its words
// (storage.IndexWords) in secret_words, both keyed by the search_id; list.go
// answers filters from them with range scans. InsertSecret and
// UpdateSecret keep them in step inside their own transaction; DeleteSecret
// needs nothing, ON DELETE CASCADE removes them with the secret. An
// UpdateSecret that leaves the name, the description and the tags as they
// were (a label move, a read's LastAccessed) costs one UPDATE that changes
// nothing.
//
// Any failure here is fatal to the write transaction: the secret row has
// already been written, and a secret whose index rows are missing or stale
// would silently drop out of filtered lists.

// Cost: the index rows roughly double the time of a durable secret insert
// (about 230 µs against 140 µs per secret in BenchmarkInsertSecretIndexed),
// mostly SQLite copying each touched page to the savepoint journal. Two ways
// to trim it: keep tags in secret_words under marked terms (three fewer
// index structures per insert), and set search_id in the INSERT itself.

// indexInserted writes the index rows of s, a secret just inserted.
func (t *tx) indexInserted(s *storage.Secret) error {
	op := "index secret " + s.ARN
	digest, err := storage.IndexDigest(s)
	if err != nil {
		return t.fatalf(op, err)
	}
	var id int64
	err = t.one(op, "", func(r *sql.Rows) error { return r.Scan(&id) }, stSearchInsert, s.ARN, digest)
	if err != nil {
		return t.fatalf(op, err)
	}
	return t.indexRows(op, id, s)
}

// indexUpdated brings the index rows of s up to date after UpdateSecret
// wrote s.
func (t *tx) indexUpdated(s *storage.Secret) error {
	op := "index secret " + s.ARN
	digest, err := storage.IndexDigest(s)
	if err != nil {
		return t.fatalf(op, err)
	}
	var id sql.NullInt64
	err = t.one(op, "", func(r *sql.Rows) error { return r.Scan(&id) }, stSearchRefresh, s.ARN, digest)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil // the digest is the same: so are the index rows
	case err != nil:
		return t.fatalf(op, err)
	case !id.Valid: // never indexed (cannot happen after migration 0002)
		return t.indexInserted(s)
	}
	if _, err := t.c.exec(stSearchClearWords, id.Int64); err != nil {
		return t.fatalf(op, err)
	}
	if _, err := t.c.exec(stSearchClearTags, id.Int64); err != nil {
		return t.fatalf(op, err)
	}
	return t.indexRows(op, id.Int64, s)
}

// indexRows inserts the word and tag rows of s under id.
func (t *tx) indexRows(op string, id int64, s *storage.Secret) error {
	if words := storage.IndexWords(s); len(words) > 0 {
		rows := make([][2]any, len(words))
		for i, w := range words {
			rows[i] = [2]any{w.Word, w.Sources}
		}
		b, err := json.Marshal(rows)
		if err != nil {
			return t.fatalf(op, err)
		}
		if _, err := t.c.exec(stSearchWords, id, string(b)); err != nil {
			return t.fatalf(op, err)
		}
	}
	if len(s.Tags) > 0 {
		tags, err := encodeTags(s.Tags)
		if err != nil {
			return t.fatalf(op, err)
		}
		if _, err := t.c.exec(stSearchTags, id, tags); err != nil {
			return t.fatalf(op, err)
		}
	}
	return nil
}

// fatalf reports err and makes it fatal to the write transaction, whatever
// kind of error it is.
func (t *tx) fatalf(op string, err error) error {
	err = fmt.Errorf("sqlite: %s: %w", op, err)
	if t.fatal == nil {
		t.fatal = err
	}
	return err
}

// backfillSearch writes the index rows of the secrets that exist when
// migration 0002 creates the index tables (it has given each its
// search_id). It runs inside the migration's transaction on c.
func backfillSearch(ctx context.Context, c *sql.Conn) error {
	const batch = 500
	after := ""
	for {
		rows, err := c.QueryContext(ctx, `SELECT arn, search_id, name, description, tags FROM secrets
			WHERE arn > ? ORDER BY arn LIMIT ?`, after, batch)
		if err != nil {
			return err
		}
		var secs []*storage.Secret
		var ids []int64
		for rows.Next() {
			var s storage.Secret
			var id int64
			var tags sql.RawBytes
			if err := rows.Scan(&s.ARN, &id, &s.Name, &s.Description, &tags); err != nil {
				rows.Close()
				return err
			}
			if s.Tags, err = decodeTags(tags); err != nil {
				rows.Close()
				return fmt.Errorf("secret %s: decode tags: %w", s.ARN, err)
			}
			secs, ids = append(secs, &s), append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := indexExisting(c, secs, ids); err != nil {
			return err
		}
		if len(secs) < batch {
			return nil
		}
		after = secs[len(secs)-1].ARN
	}
}

// indexExisting writes the index rows and digests of secs under ids, in a
// throwaway tx over c whose statements it closes before returning.
func indexExisting(c *sql.Conn, secs []*storage.Secret, ids []int64) error {
	t := &tx{c: &conn{sc: c}, write: true}
	defer func() {
		for _, st := range t.c.stmts {
			if st != nil {
				_ = st.Close()
			}
		}
	}()
	for i, s := range secs {
		op := "index secret " + s.ARN
		digest, err := storage.IndexDigest(s)
		if err != nil {
			return err
		}
		if _, err := c.ExecContext(context.Background(), "UPDATE secrets SET search_digest = ? WHERE arn = ?", digest, s.ARN); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := t.indexRows(op, ids[i], s); err != nil {
			return err
		}
	}
	return nil
}
