package postgres

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/storage"
)

// ListSecrets: one statement per page, filtered, ordered and paged inside
// PostgreSQL.
//
// Every order has an index inside (account, region) that ends with the ARN
// (migrations/0001), and a page starts at the cursor with a range on it.
// A filter value becomes a predicate on the row (a name prefix: a byte
// range, the columns use the "C" collation) or an EXISTS probe into the
// index tables secret_tags and secret_words by the secret's search_id and a
// range on the tag key or value or the word; PostgreSQL's planner chooses
// between walking the order's index and driving from the probes' indexes.
//
// Strings compared with a column must be valid UTF-8 for PostgreSQL; a
// cursor or a prefix that is not (a caller may make a position out of
// "\xff") is compared as bytes (convert_to), which is the same order.

// order is how one ListSecrets order runs.
type order struct {
	col  string // the sort column, before the ARN
	desc bool
	key  func(c *storage.Cursor) any
}

func orderOf(by storage.SortKey, desc bool) (order, error) {
	switch by {
	case storage.SortCreated:
		return order{"s.created_ms", desc, func(c *storage.Cursor) any { return toMillis(c.Created) }}, nil
	case storage.SortName:
		return order{"s.name", desc, func(c *storage.Cursor) any { return c.Name }}, nil
	case storage.SortLastChanged:
		return order{"s.last_changed_ms", desc, func(c *storage.Cursor) any { return toMillis(c.LastChanged) }}, nil
	case storage.SortLastAccessed:
		if desc { // 0 (never) is the smallest value: last when descending
			return order{"s.last_accessed_ms", desc, func(c *storage.Cursor) any { return toMillis(c.LastAccessed) }}, nil
		}
		// accessed_order maps 0 to the largest integer: last when ascending.
		return order{"s.accessed_order", desc, func(c *storage.Cursor) any {
			if c.LastAccessed.IsZero() {
				return int64(math.MaxInt64)
			}
			return toMillis(c.LastAccessed)
		}}, nil
	}
	return order{}, fmt.Errorf("unknown sort key %d", by)
}

var qualifiedSecretCols = func() string {
	cols := strings.Split(secretCols, ",")
	for i, c := range cols {
		cols[i] = "s." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

func (t *tx) ListSecrets(q storage.SecretQuery) ([]*storage.Secret, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	op := fmt.Sprintf("list secrets %s/%s", q.Account, q.Region)
	filters, none, err := storage.NormalizeFilters(q.Filters)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if none {
		return nil, nil
	}
	ord, err := orderOf(q.SortBy, q.Desc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	b := &listQuery{}
	b.write("SELECT ", qualifiedSecretCols, " FROM secrets AS s WHERE s.account = ", b.arg(q.Account),
		" AND s.region = ", b.arg(q.Region))
	if !q.IncludeDeleted {
		b.write(" AND s.deletion_ms = 0")
	}
	if q.After != nil {
		// Strictly after the cursor: col beyond its key, or equal with the
		// ARN beyond. The first condition alone bounds the index range.
		gt, ge := ">", ">="
		if ord.desc {
			gt, ge = "<", "<="
		}
		k := ord.key(q.After)
		b.write(" AND ", b.cmp(ord.col, ge, k), " AND (", b.cmp(ord.col, gt, k), " OR ", b.cmp("s.arn", gt, q.After.ARN), ")")
	}
	for _, f := range filters {
		b.write(" AND (")
		for i, v := range f.Values {
			if i > 0 {
				b.write(" OR ")
			}
			if v.Not {
				b.write("NOT ")
			}
			b.value(f.Key, v.Value)
		}
		b.write(")")
	}
	dir := ""
	if ord.desc {
		dir = " DESC"
	}
	b.write(" ORDER BY ", ord.col, dir, ", s.arn", dir)
	if q.Limit > 0 {
		b.write(" LIMIT ", b.arg(q.Limit))
	}
	var out []*storage.Secret
	err = t.rows(op, b.sql.String(), b.args, func(r pgx.Rows) error {
		s, err := scanSecret(r)
		if err == nil {
			out = append(out, s)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listQuery builds one statement and its arguments.
type listQuery struct {
	sql  strings.Builder
	args []any
}

func (b *listQuery) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *listQuery) write(parts ...string) {
	for _, p := range parts {
		b.sql.WriteString(p)
	}
}

// cmp returns "col op v"; a string that is not valid UTF-8 is compared as
// bytes.
func (b *listQuery) cmp(col, op string, v any) string {
	if s, ok := v.(string); ok && !utf8.ValidString(s) {
		return "convert_to(" + col + ", 'UTF8') " + op + " " + b.arg([]byte(s)) + "::bytea"
	}
	return col + " " + op + " " + b.arg(v)
}

// prefix returns the condition "col starts with p", a range in byte order.
func (b *listQuery) prefix(col, p string) string {
	if p == "" {
		return "TRUE"
	}
	lo := b.cmp(col, ">=", p)
	if end, ok := storage.PrefixEnd(p); ok {
		return lo + " AND " + b.cmp(col, "<", end)
	}
	return lo
}

// value writes the predicate of one positive filter value, in parentheses.
func (b *listQuery) value(key storage.FilterKey, value string) {
	switch key {
	case storage.FilterName:
		b.write("(", b.prefix("s.name", value), ")")
	case storage.FilterTagKey:
		b.write("EXISTS (SELECT 1 FROM secret_tags AS t WHERE t.id = s.search_id AND ", b.prefix("t.key", value), ")")
	case storage.FilterTagValue:
		b.write("EXISTS (SELECT 1 FROM secret_tags AS t WHERE t.id = s.search_id AND ", b.prefix("t.value", value), ")")
	case storage.FilterDescription, storage.FilterAll:
		// Every word of the value starts some word of the secret.
		b.write("(")
		for i, w := range storage.QueryWords(value) {
			if i > 0 {
				b.write(" AND ")
			}
			b.write("EXISTS (SELECT 1 FROM secret_words AS w WHERE w.id = s.search_id AND ", b.prefix("w.word", w))
			if key == storage.FilterDescription {
				b.write(" AND w.sources & ", strconv.Itoa(storage.SourceDescription), " <> 0")
			}
			b.write(")")
		}
		b.write(")")
	default: // NormalizeFilters dropped every other key
		b.write("(FALSE)")
	}
}
