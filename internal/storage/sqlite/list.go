package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// ListSecrets: filters, orders and pages inside SQLite.
//
// Every order has an index inside (account, region) that ends with the ARN
// (migrations 0001 and 0002; the name index ends with the unique name), and
// a page starts at the cursor with a range on that index, so an unfiltered
// page reads Limit rows whatever page it is. Each filter becomes a
// predicate on the secret row (a name prefix: a byte range) or EXISTS
// probes into the index tables secret_tags and secret_words (search.go) by
// the secret's id and a range on the tag key or value or on the word.
//
// With filters a page can run in two ways, and which one is fast depends on
// how many secrets match, which SQLite cannot estimate for a prefix range:
//
//   - walk: go through the order's index from the cursor and test every
//     secret until the page is full. It reads about Limit/selectivity rows:
//     cheap when the filters match many secrets, slow when few do.
//   - drive: collect candidate ids from the index ranges of the filter
//     values ("terms": a name prefix, a tag key or value prefix, a word of
//     a description or all value), intersecting terms and filters, then test
//     the candidates against every filter and sort them. It costs the
//     entries read plus the candidates, whatever the size of the account.
//
// The planner (planner below) first counts the entries of each term of the
// filters whose values are all positive (a negation matches too much to
// drive from) up to a small cap, and drives at once when that is about as
// cheap as reading a page. Otherwise it walks a window of the order; a full
// page, or the end of the scope, is the answer. A short page tells the
// selectivity of the filters, and the planner then either goes on walking
// from the end of the window or drives from the cheapest intersection of
// terms, whichever its cost model says is cheaper. Only filters made of
// negations alone are walked without a bound. Either way the filtering
// happens in SQLite, and no secret that is not on the page is read into Go
// memory.

// listPlan chooses how a filtered page runs; tests force one or the other.
type listPlan int

const (
	planChoose      listPlan = iota
	planWalk                 // walk without a window
	planDrive                // drive from every drivable filter
	planWindowWalk           // walk windows of 2 rows, then go on walking
	planWindowDrive          // walk windows of 2 rows, then drive
)

// forcePlan is planChoose except in tests, which set it to run the
// conformance suite with each plan.
var forcePlan atomic.Int32

// The cost model of the planner, in microseconds: what each step took with
// BenchmarkListSecretsFiltered (modernc.org/sqlite, 100,000 secrets). Only
// their ratios matter.
const (
	costRow       = 3.5  // a walked row: its id, its filter probes
	costCandidate = 6.0  // a driven candidate: its row by ARN, its filters, the sort
	costEntry     = 0.25 // an index entry of a term read into the candidate set
)

// Caps of the term counts: counting reads index entries (about 0.1µs
// each), so a term is counted exactly only up to a cap.
const (
	probeCap      = 5000  // before the window: enough to see a term worth driving from
	probeCapAfter = 20000 // after a short window: to choose the terms to intersect
)

// walkWindow is how many rows of the order a walk reads before the planner
// reconsiders.
func walkWindow(limit int64) int { return max(1000, 20*int(limit)) }

// order is how one ListSecrets order runs.
type order struct {
	index string // walks the order inside (account, region)
	col   string // the sort column of s, before the ARN
	desc  bool   // descending
	// key is a position's value of col; at is the position of a row whose
	// col is k and whose ARN is arn.
	key func(c *storage.Cursor) any
	at  func(k any, arn string) *storage.Cursor
}

func orderOf(by storage.SortKey, desc bool) (order, error) {
	ms := func(k any) time.Time { n, _ := k.(int64); return fromMillis(n) }
	switch by {
	case storage.SortCreated:
		return order{"secrets_by_created", "s.created_ms", desc,
			func(c *storage.Cursor) any { return toMillis(c.Created) },
			func(k any, arn string) *storage.Cursor { return &storage.Cursor{ARN: arn, Created: ms(k)} }}, nil
	case storage.SortName:
		return order{"secrets_by_name", "s.name", desc,
			func(c *storage.Cursor) any { return c.Name },
			func(k any, arn string) *storage.Cursor { n, _ := k.(string); return &storage.Cursor{ARN: arn, Name: n} }}, nil
	case storage.SortLastChanged:
		return order{"secrets_by_changed", "s.last_changed_ms", desc,
			func(c *storage.Cursor) any { return toMillis(c.LastChanged) },
			func(k any, arn string) *storage.Cursor { return &storage.Cursor{ARN: arn, LastChanged: ms(k)} }}, nil
	case storage.SortLastAccessed:
		if desc { // 0 (never) is the smallest value: last when descending
			return order{"secrets_by_accessed", "s.last_accessed_ms", desc,
				func(c *storage.Cursor) any { return toMillis(c.LastAccessed) },
				func(k any, arn string) *storage.Cursor { return &storage.Cursor{ARN: arn, LastAccessed: ms(k)} }}, nil
		}
		// accessed_order maps 0 to the largest integer: last when ascending.
		return order{"secrets_by_accessed_order", "s.accessed_order", desc,
			func(c *storage.Cursor) any {
				if c.LastAccessed.IsZero() {
					return int64(math.MaxInt64)
				}
				return toMillis(c.LastAccessed)
			},
			func(k any, arn string) *storage.Cursor {
				if n, _ := k.(int64); n == math.MaxInt64 {
					return &storage.Cursor{ARN: arn}
				}
				return &storage.Cursor{ARN: arn, LastAccessed: ms(k)}
			}}, nil
	}
	return order{}, fmt.Errorf("unknown sort key %d", by)
}

// qualifiedSecretCols is secretCols read through the alias s.
var qualifiedSecretCols = func() string {
	cols := strings.Split(secretCols, ",")
	for i, c := range cols {
		cols[i] = "s." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

func (t *tx) ListSecrets(q storage.SecretQuery) ([]*storage.Secret, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	op := fmt.Sprintf("list secrets %s/%s", q.Account, q.Region)
	filters, none, err := storage.NormalizeFilters(q.Filters)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if none {
		return nil, nil
	}
	ord, err := orderOf(q.SortBy, q.Desc)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	limit := int64(q.Limit)
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}

	if len(filters) == 0 && q.SortBy == storage.SortCreated && !q.Desc {
		// The default listing: prepared once per connection.
		id, args := stListSecretsFirst, []any{q.Account, q.Region, q.IncludeDeleted, limit}
		if q.After != nil {
			id, args = stListSecretsAfter, append(args, toMillis(q.After.Created), q.After.ARN)
		}
		return records(t, op, scanSecret, id, args...)
	}

	p := &planner{t: t, q: q, ord: ord, filters: filters, limit: limit, counts: map[term]int{}}
	out, err := p.run()
	if err != nil {
		return nil, t.fail(op, err, "")
	}
	return out, nil
}

// term is one index range that holds every secret matching a filter value
// (a name or tag prefix) or one word of it (description, all).
type term struct {
	key    storage.FilterKey
	prefix string
}

func valueTerms(key storage.FilterKey, value string) []term {
	switch key {
	case storage.FilterDescription, storage.FilterAll:
		var ts []term
		for _, w := range storage.QueryWords(value) {
			ts = append(ts, term{key, w})
		}
		return ts
	}
	return []term{{key, value}}
}

// candidates is a set of candidate ids for a page: the intersection of its
// filters' sets, each the union of its values' sets, each the
// intersection of its terms' ranges. Every matching secret is a candidate.
type candidates [][][]term

// planner runs one filtered page.
type planner struct {
	t       *tx
	q       storage.SecretQuery
	ord     order
	filters []storage.Filter
	limit   int64         // -1: no limit
	counts  map[term]int  // entries of a term, up to the cap it was counted with
	capped  map[term]bool // the count stopped at its cap
	size    int           // an upper bound of the number of secrets; 0 until known
	path    string        // what run did, for tests
}

// run plans and runs the page.
func (p *planner) run() ([]*storage.Secret, error) {
	var drivable bool
	for _, f := range p.filters {
		drivable = drivable || isDrivable(f)
	}
	force := listPlan(forcePlan.Load())
	switch {
	case force == planWalk || !drivable:
		p.path = "walk"
		return p.query(pageQuery(p.q, p.ord, p.filters, nil, nil, p.limit))
	case force == planDrive:
		p.path = "drive"
		return p.query(pageQuery(p.q, p.ord, p.filters, p.everything(), nil, p.limit))
	case p.limit < 0: // the whole answer: drive from the cheapest terms
		d, _, err := p.cheapestDrive(probeCapAfter)
		if err != nil {
			return nil, err
		}
		p.path = "drive"
		return p.query(pageQuery(p.q, p.ord, p.filters, d, nil, p.limit))
	}

	// Drive at once when that costs about as much as reading a page.
	window := walkWindow(p.limit)
	if force == planChoose {
		d, cost, err := p.cheapestDrive(probeCap)
		if err != nil {
			return nil, err
		}
		if cost <= 4*float64(p.limit)*costRow {
			p.path = "drive"
			return p.query(pageQuery(p.q, p.ord, p.filters, d, nil, p.limit))
		}
	} else {
		window = 2
	}

	// Walk a window of the order: up to its last row, found first.
	p.path = "window"
	end, err := p.windowEnd(window)
	if err != nil {
		return nil, err
	}
	out, err := p.query(pageQuery(p.q, p.ord, p.filters, nil, end, p.limit))
	if err != nil || int64(len(out)) == p.limit || end == nil {
		return out, err // a full page, or the window held the rest of the scope
	}

	// A short page: go on walking, or drive, whichever costs less.
	d, driveCost, err := p.cheapestDrive(probeCapAfter)
	if err != nil {
		return nil, err
	}
	found := float64(len(out))
	walkCost := float64(p.limit-int64(len(out))) * float64(window) / max(found, 0.5) * costRow
	if force == planWindowDrive || force == planChoose && walkCost > driveCost {
		p.path = "window, drive"
		return p.query(pageQuery(p.q, p.ord, p.filters, d, nil, p.limit))
	}
	p.path = "window, walk"
	rest := p.q
	rest.After = end
	more, err := p.query(pageQuery(rest, p.ord, p.filters, nil, nil, p.limit-int64(len(out))))
	return append(out, more...), err
}

func (p *planner) query(b *listQuery) ([]*storage.Secret, error) {
	if err := p.t.usable(); err != nil { // a View's context may end between queries
		return nil, err
	}
	rows, err := p.t.c.sc.QueryContext(context.Background(), b.sql.String(), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*storage.Secret
	for rows.Next() {
		s, err := scanSecret(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// windowEnd returns the position of the last row of a walk window, or nil
// when the scope ends before the window does.
func (p *planner) windowEnd(window int) (*storage.Cursor, error) {
	b := &listQuery{}
	b.write("SELECT ", p.ord.col, ", s.arn")
	b.walkFrom(p.ord)
	b.where(p.q, p.ord, p.filters, nil, true)
	b.orderBy(p.ord, 1)
	b.write(" OFFSET ", b.arg(window-1))
	var k any
	var arn string
	err := p.t.c.sc.QueryRowContext(context.Background(), b.sql.String(), b.args...).Scan(&k, &arn)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return p.ord.at(k, arn), nil
}

// count returns the entries of tm, counted up to limit: limit+1 means more.
func (p *planner) count(tm term, limit int) (int, error) {
	if n, ok := p.counts[tm]; ok && (!p.capped[tm] || n > limit) {
		return min(n, limit+1), nil
	}
	b := &listQuery{}
	b.write("SELECT count(*) FROM (")
	b.term(p.q, tm, true)
	b.write(" LIMIT ", b.arg(limit+1), ")")
	var n int
	if err := p.t.c.sc.QueryRowContext(context.Background(), b.sql.String(), b.args...).Scan(&n); err != nil {
		return 0, err
	}
	if p.capped == nil {
		p.capped = map[term]bool{}
	}
	p.counts[tm], p.capped[tm] = n, n > limit
	return n, nil
}

// secrets returns an upper bound of the number of secrets: the largest
// search_id (of every scope).
func (p *planner) secrets() (int, error) {
	if p.size == 0 {
		var n sql.NullInt64
		err := p.t.c.sc.QueryRowContext(context.Background(), "SELECT max(search_id) FROM secrets").Scan(&n)
		if err != nil {
			return 0, err
		}
		p.size = max(int(n.Int64), 1)
	}
	return p.size, nil
}

// unit is a set of candidates a filter gives: each term of a filter with
// one value is a unit of its own (they are intersected anyway); a filter
// with several values gives the union of its values, each the intersection
// of its cheapest terms.
type unit struct {
	set  [][]term // union of values, each the intersection of its terms
	size float64  // estimated entries
}

// cheapestDrive chooses the terms to drive from, with counts up to
// limit, and returns them with the estimated cost of the page. It takes
// the smallest set, then intersects the next ones while reading one costs
// less than the candidates it is expected to remove (assuming the sets
// independent).
func (p *planner) cheapestDrive(limit int) (candidates, float64, error) {
	n, err := p.secrets()
	if err != nil {
		return nil, 0, err
	}
	size := func(c int) float64 {
		if c > limit { // more than counted: assume as many as there are secrets
			return float64(max(n, c))
		}
		return float64(c)
	}
	var units []unit
	for _, f := range p.filters {
		if !isDrivable(f) {
			continue
		}
		if len(f.Values) == 1 {
			for _, tm := range valueTerms(f.Key, f.Values[0].Value) {
				c, err := p.count(tm, limit)
				if err != nil {
					return nil, 0, err
				}
				units = append(units, unit{[][]term{{tm}}, size(c)})
			}
			continue
		}
		u := unit{}
		for _, v := range f.Values {
			var ts []unit
			for _, tm := range valueTerms(f.Key, v.Value) {
				c, err := p.count(tm, limit)
				if err != nil {
					return nil, 0, err
				}
				ts = append(ts, unit{[][]term{{tm}}, size(c)})
			}
			set, est, _ := intersect(ts, n)
			var vts []term
			for _, s := range set {
				vts = append(vts, s[0][0])
			}
			u.set = append(u.set, vts)
			u.size += est
		}
		units = append(units, u)
	}
	d, cands, cost := intersect(units, n)
	return d, cost + cands*costCandidate, nil
}

// intersect chooses among units the sets to intersect: the smallest, then
// each next one while reading it costs less than the candidates it is
// expected to remove (taking the sets as independent among n secrets). It
// returns them with the expected number of candidates and the cost of
// reading them.
func intersect(units []unit, n int) (d candidates, cands, cost float64) {
	slices.SortStableFunc(units, func(a, b unit) int { return cmp.Compare(a.size, b.size) })
	d = candidates{units[0].set}
	cands, cost = units[0].size, units[0].size*costEntry
	for _, u := range units[1:] {
		sel := min(u.size/float64(n), 1)
		if u.size*costEntry < cands*(1-sel)*costCandidate {
			d = append(d, u.set)
			cost += u.size * costEntry
			cands *= sel
		}
	}
	return d, cands, cost
}

// everything returns the candidates of every drivable filter, every term
// of every value included.
func (p *planner) everything() candidates {
	var d candidates
	for _, f := range p.filters {
		if !isDrivable(f) {
			continue
		}
		var fs [][]term
		for _, v := range f.Values {
			fs = append(fs, valueTerms(f.Key, v.Value))
		}
		d = append(d, fs)
	}
	return d
}

// isDrivable reports whether f can give the candidates of a page: a
// filter with a negated value matches too much to be worth it.
func isDrivable(f storage.Filter) bool {
	for _, v := range f.Values {
		if v.Not {
			return false
		}
	}
	return true
}

// listQuery builds one SQL statement and its arguments.
type listQuery struct {
	sql  strings.Builder
	args []any
	// nameCol is how name filters refer to the name: "s.name", or
	// "+s.name" when they must not drive the index (seekName).
	nameCol string
}

// arg adds an argument and returns its placeholder.
func (b *listQuery) arg(v any) string {
	b.args = append(b.args, v)
	return "?" + strconv.Itoa(len(b.args))
}

func (b *listQuery) write(parts ...string) {
	for _, p := range parts {
		b.sql.WriteString(p)
	}
}

// pageQuery builds the query of a page: driven by the candidates of d
// when it is not nil; else a walk of the order's index, up to the position
// until (included) when it is not nil.
func pageQuery(q storage.SecretQuery, ord order, filters []storage.Filter, d candidates, until *storage.Cursor, limit int64) *listQuery {
	b := &listQuery{}
	if d != nil {
		b.write("WITH cand(id) AS MATERIALIZED (SELECT DISTINCT id FROM (")
		b.candidates(q, d)
		b.write(")) SELECT ", qualifiedSecretCols, " FROM cand",
			" CROSS JOIN secrets AS s INDEXED BY secrets_by_search_id ON s.search_id = cand.id")
		b.where(q, ord, nil, nil, false)
	} else {
		b.write("SELECT ", qualifiedSecretCols)
		b.walkFrom(ord)
		b.where(q, ord, filters, until, true)
	}
	b.filters(filters)
	b.orderBy(ord, limit)
	return b
}

// walkFrom writes the FROM clause of a walk of the order's index.
func (b *listQuery) walkFrom(ord order) {
	b.write(" FROM secrets AS s INDEXED BY ", ord.index)
}

// where writes the scope and the cursor conditions, and in a walk the
// bound until (included) when it is not nil. A walk of the name index also
// gets the bounds of the name filters that narrow it (seekName).
func (b *listQuery) where(q storage.SecretQuery, ord order, filters []storage.Filter, until *storage.Cursor, walk bool) {
	b.write(" WHERE s.account = ", b.arg(q.Account), " AND s.region = ", b.arg(q.Region))
	if !q.IncludeDeleted {
		b.write(" AND s.deletion_ms = 0")
	}
	col := ord.col
	if walk && col == "s.name" {
		// secrets_by_name ends with the name, not the ARN: the walk seeks
		// with the bounds on the name alone (seekName), and the other
		// conditions on the name must not compete with them for the index
		// (a unary + makes a term unusable by an index).
		b.seekName(q, ord, filters, until)
		col, b.nameCol = "+s.name", "+s.name"
	}
	after, before := ">", "<="
	if ord.desc {
		after, before = "<", ">="
	}
	if q.After != nil {
		// Strictly after the cursor in the order: a row-value range that
		// the order's index seeks to.
		b.write(" AND (", col, ", s.arn) ", after, " (", b.arg(ord.key(q.After)), ", ", b.arg(q.After.ARN), ")")
	}
	if until != nil {
		b.write(" AND (", col, ", s.arn) ", before, " (", b.arg(ord.key(until)), ", ", b.arg(until.ARN), ")")
	}
}

// filters writes the predicates of every filter.
func (b *listQuery) filters(filters []storage.Filter) {
	for _, f := range filters {
		b.write(" AND ")
		b.filter(f)
	}
}

func (b *listQuery) orderBy(ord order, limit int64) {
	dir := ""
	if ord.desc {
		dir = " DESC"
	}
	b.write(" ORDER BY ", ord.col, dir, ", s.arn", dir, " LIMIT ", b.arg(limit))
}

// seekName writes the bounds of a walk of secrets_by_name: the cursor, the
// end of a window and the narrowest name prefix filter, combined into one
// lower and one upper bound (with several, SQLite would seek with any one
// of them).
func (b *listQuery) seekName(q storage.SecretQuery, ord order, filters []storage.Filter, until *storage.Cursor) {
	var lo, hi string // lo <= name; name < hi (or <= hi when hiIncl)
	var hasLo, hasHi, hiIncl bool
	lower := func(v string) {
		if !hasLo || v > lo {
			lo, hasLo = v, true
		}
	}
	upper := func(v string, incl bool) {
		if !hasHi || v < hi || v == hi && !incl {
			hi, hasHi, hiIncl = v, true, incl
		}
	}
	if q.After != nil {
		if ord.desc {
			upper(q.After.Name, true)
		} else {
			lower(q.After.Name)
		}
	}
	if until != nil {
		if ord.desc {
			lower(until.Name)
		} else {
			upper(until.Name, true)
		}
	}
	for _, f := range filters {
		if f.Key != storage.FilterName || len(f.Values) != 1 || f.Values[0].Not {
			continue
		}
		p := f.Values[0].Value
		lower(p)
		if end, ok := storage.PrefixEnd(p); ok {
			upper(end, false)
		}
	}
	if hasLo {
		b.write(" AND s.name >= ", b.arg(lo))
	}
	if hasHi {
		op := " < "
		if hiIncl {
			op = " <= "
		}
		b.write(" AND s.name", op, b.arg(hi))
	}
}

// filter writes the predicate of f on the secret s.
func (b *listQuery) filter(f storage.Filter) {
	b.write("(")
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

// value writes the predicate of one positive value, in parentheses.
func (b *listQuery) value(key storage.FilterKey, value string) {
	switch key {
	case storage.FilterName:
		col := b.nameCol
		if col == "" {
			col = "s.name"
		}
		b.write("(", b.prefix(col, value), ")")
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
				b.write(" AND w.sources & ", strconv.Itoa(storage.SourceDescription))
			}
			b.write(")")
		}
		b.write(")")
	default: // NormalizeFilters dropped every other key
		b.write("(0)")
	}
}

// prefix returns the condition "col starts with p", a range scan in byte
// order.
func (b *listQuery) prefix(col, p string) string {
	if p == "" {
		return "1"
	}
	lo := col + " >= " + b.arg(p)
	if end, ok := storage.PrefixEnd(p); ok {
		return lo + " AND " + col + " < " + b.arg(end)
	}
	return lo
}

// candidates writes a query of the candidate ids of d (they may repeat).
func (b *listQuery) candidates(q storage.SecretQuery, d candidates) {
	for i, fs := range d {
		if i > 0 {
			b.write(" INTERSECT ")
		}
		b.write("SELECT id FROM (")
		for j, ts := range fs {
			if j > 0 {
				b.write(" UNION ")
			}
			b.write("SELECT id FROM (")
			for k, tm := range ts {
				if k > 0 {
					b.write(" INTERSECT ")
				}
				b.term(q, tm, false)
			}
			b.write(")")
		}
		b.write(")")
	}
}

// term writes a query of the ids of the secrets in the index range of tm
// (a name range only within the query's scope). With count set, the query
// is only counted: its rows can be anything.
func (b *listQuery) term(q storage.SecretQuery, tm term, count bool) {
	switch tm.key {
	case storage.FilterName:
		if count { // no need for the id: the name index alone
			b.write("SELECT 1 FROM secrets AS s2 INDEXED BY secrets_by_name")
		} else {
			b.write("SELECT s2.search_id AS id FROM secrets AS s2 INDEXED BY secrets_by_name")
		}
		b.write(" WHERE s2.account = ", b.arg(q.Account), " AND s2.region = ", b.arg(q.Region),
			" AND ", b.prefix("s2.name", tm.prefix))
	case storage.FilterTagKey:
		b.write("SELECT id FROM secret_tags INDEXED BY secret_tags_by_key WHERE ", b.prefix("key", tm.prefix))
	case storage.FilterTagValue:
		b.write("SELECT id FROM secret_tags INDEXED BY secret_tags_by_value WHERE ", b.prefix("value", tm.prefix))
	case storage.FilterDescription:
		b.write("SELECT id FROM secret_words INDEXED BY secret_words_by_word WHERE ", b.prefix("word", tm.prefix),
			" AND sources & ", strconv.Itoa(storage.SourceDescription))
	default: // storage.FilterAll
		b.write("SELECT id FROM secret_words INDEXED BY secret_words_by_word WHERE ", b.prefix("word", tm.prefix))
	}
}
