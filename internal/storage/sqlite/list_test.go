package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/storagetest"
)

// ListSecrets answers alike whichever plan runs a filtered page: the
// suite's ListSecrets tests run with each one forced (the default chooses by the size of the
// candidate sets, which the suite's small stores always keep small).
func TestConformanceListPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, p := range []struct {
		name string
		plan listPlan
	}{{"walk", planWalk}, {"drive", planDrive}, {"window-walk", planWindowWalk}, {"window-drive", planWindowDrive}} {
		t.Run(p.name, func(t *testing.T) {
			forcePlan.Store(int32(p.plan))
			defer forcePlan.Store(int32(planChoose))
			storagetest.RunListSecrets(t, func(t *testing.T) storage.Store { return openTest(t) })
		})
	}
}

// insertSecrets inserts secs in one Update.
func insertSecrets(t *testing.T, db *DB, secs []*storage.Secret) {
	t.Helper()
	err := db.Update(t.Context(), func(tx storage.Tx) error {
		for _, s := range secs {
			if err := tx.InsertSecret(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// explain returns the query plan of a statement, its steps joined by "; ".
func explain(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.w.c.sc.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// Every order walks its index from the cursor (a range, not a scan from
// the start of the account, and no sort); a driven page sorts only the
// candidates, which come from index ranges.
func TestListSecretsPlans(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	after := &storage.Cursor{ARN: "arn:x", Name: "n", Created: time.UnixMilli(5), LastChanged: time.UnixMilli(5), LastAccessed: time.UnixMilli(5)}
	filters := []storage.Filter{
		{Key: storage.FilterName, Values: []storage.FilterValue{{Value: "a"}}},
		{Key: storage.FilterDescription, Values: []storage.FilterValue{{Value: "b c"}, {Not: true, Value: "d"}}},
		{Key: storage.FilterTagKey, Values: []storage.FilterValue{{Value: "e"}}},
		{Key: storage.FilterTagValue, Values: []storage.FilterValue{{Value: "f"}}},
		{Key: storage.FilterAll, Values: []storage.FilterValue{{Value: "g"}}},
	}
	for _, by := range []storage.SortKey{storage.SortCreated, storage.SortName, storage.SortLastChanged, storage.SortLastAccessed} {
		for _, desc := range []bool{false, true} {
			ord, err := orderOf(by, desc)
			if err != nil {
				t.Fatal(err)
			}
			q := storage.SecretQuery{Account: "a", Region: "r", SortBy: by, Desc: desc, After: after, Filters: filters}
			until := &storage.Cursor{ARN: "arn:y", Name: "z", Created: time.UnixMilli(9), LastChanged: time.UnixMilli(9), LastAccessed: time.UnixMilli(9)}
			if desc {
				until = &storage.Cursor{ARN: "arn:a", Name: "a", Created: time.UnixMilli(1), LastChanged: time.UnixMilli(1), LastAccessed: time.UnixMilli(1)}
			}
			for _, window := range []*storage.Cursor{nil, until} {
				b := pageQuery(q, ord, filters, nil, window, 10)
				p := explain(t, db, b.sql.String(), b.args...)
				// The seek uses the cursor: "(col,arn)>(?,?)" or, for the
				// name index that has no ARN column, "name>?".
				col := strings.TrimPrefix(ord.col, "s.")
				seek := "USING INDEX " + ord.index + " (account=? AND region=? AND (" + col + ",arn)"
				if by == storage.SortName {
					seek = "USING INDEX " + ord.index + " (account=? AND region=? AND name"
				}
				if !strings.Contains(p, seek) || strings.Contains(p, "TEMP B-TREE") {
					t.Errorf("walk by %d desc %v until %v: %s\nplan: %s", by, desc, window, b.sql.String(), p)
				}
				for _, probe := range []string{"SEARCH w USING PRIMARY KEY (id=? AND word>? AND word<?)", "SEARCH t EXISTS USING PRIMARY KEY (id=?)"} {
					if !strings.Contains(p, probe) {
						t.Errorf("walk by %d desc %v until %v: no %q: %s", by, desc, window, probe, p)
					}
				}
			}

			d := candidates{{{{storage.FilterTagKey, "e"}}}, {{{storage.FilterAll, "g"}}, {{storage.FilterDescription, "b"}, {storage.FilterDescription, "c"}}}}
			b := pageQuery(q, ord, filters, d, nil, 10)
			p := explain(t, db, b.sql.String(), b.args...)
			if !strings.Contains(p, "secret_tags_by_key (key>? AND key<?)") || !strings.Contains(p, "SCAN cand") ||
				!strings.Contains(p, "secret_words_by_word (word>? AND word<?)") ||
				!strings.Contains(p, "SEARCH s USING INDEX secrets_by_search_id (search_id=?)") {
				t.Errorf("drive by %d desc %v: %s\nplan: %s", by, desc, b.sql.String(), p)
			}
		}
	}
	// Every term is an index range.
	for _, tm := range []term{{storage.FilterName, "a"}, {storage.FilterTagKey, "b"}, {storage.FilterTagValue, "c"},
		{storage.FilterDescription, "d"}, {storage.FilterAll, "e"}} {
		for _, count := range []bool{false, true} {
			var b listQuery
			b.term(storage.SecretQuery{Account: "a", Region: "r"}, tm, count)
			p := explain(t, db, b.sql.String(), b.args...)
			if !strings.Contains(p, ">? AND ") || strings.Contains(p, "SCAN") {
				t.Errorf("term %v (count %v): %s\nplan: %s", tm, count, b.sql.String(), p)
			}
		}
	}
}

// The planner drives from narrow terms, walks broad ones, and after a
// short window goes on walking or drives from an intersection of broad
// terms; the answer is the same whatever it does.
func TestListSecretsPlanner(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	db := openTest(t)
	defer db.Close()
	const n = 6000
	var secs []*storage.Secret
	for i := range n {
		name := fmt.Sprintf("plan/%04d", i)
		s := &storage.Secret{ARN: arnOf(name), Account: "123456789012", Region: "us-east-1", Name: name,
			Description: "alpha", Created: time.UnixMilli(int64(1000 + i)), LastChanged: time.UnixMilli(1000)}
		if i%2 == 1 {
			s.Description = "beta"
		}
		if i%997 == 0 {
			s.Description = "alpha beta" // both words: 7 secrets
		}
		if i%7 == 0 {
			s.Description += " gamma"
		}
		if i%500 == 0 {
			s.Tags = []storage.Tag{{Key: "rare", Value: "x"}}
		}
		secs = append(secs, s)
	}
	insertSecrets(t, db, secs)
	flt := func(key storage.FilterKey, vs ...string) storage.Filter {
		f := storage.Filter{Key: key}
		for _, v := range vs {
			f.Values = append(f.Values, storage.FilterValue{Value: v})
		}
		return f
	}
	alpha, rare := flt(storage.FilterDescription, "alpha"), flt(storage.FilterTagKey, "rare")
	for _, tc := range []struct {
		filters []storage.Filter
		limit   int
		path    string
	}{
		{[]storage.Filter{alpha}, 10, "window"},                                               // broad: a short walk
		{[]storage.Filter{rare}, 10, "drive"},                                                 // 12 entries
		{[]storage.Filter{alpha, rare}, 10, "drive"},                                          // the narrow term drives
		{[]storage.Filter{flt(storage.FilterDescription, "alpha beta")}, 10, "window, drive"}, // broad words, narrow together
		{[]storage.Filter{flt(storage.FilterAll, "beta", "rare")}, 10, "window"},              // OR of values
		{[]storage.Filter{flt(storage.FilterDescription, "alpha beta", "x")}, 10, "window, drive"},
		{[]storage.Filter{flt(storage.FilterDescription, "gamma")}, 200, ""}, // any way
		{[]storage.Filter{alpha}, 0, "drive"},                                // everything: drive
	} {
		q := storage.SecretQuery{Account: "123456789012", Region: "us-east-1", Limit: tc.limit, Filters: tc.filters}
		var want []string
		for _, s := range secs {
			if storage.MatchFilters(tc.filters, s) && (tc.limit == 0 || len(want) < tc.limit) {
				want = append(want, s.Name)
			}
		}
		err := db.View(t.Context(), func(stx storage.Tx) error {
			tx := stx.(*tx)
			if err := tx.check(); err != nil {
				return err
			}
			ord, _ := orderOf(q.SortBy, q.Desc)
			limit := int64(tc.limit)
			if limit == 0 {
				limit = -1
			}
			p := &planner{t: tx, q: q, ord: ord, filters: tc.filters, limit: limit, counts: map[term]int{}}
			got, err := p.run()
			if err != nil {
				return err
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
			}
			if tc.path != "" && p.path != tc.path {
				t.Errorf("filters %v: ran %q, want %q", tc.filters, p.path, tc.path)
			}
			if !slices.Equal(names, want) {
				t.Errorf("filters %v: %d secrets %q, want %d %q", tc.filters, len(names), names, len(want), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A database written before migration 0002 gets the filter index of its
// secrets when it is opened.
func TestMigrationBackfillsFilterIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var secs []*storage.Secret
	for i := range 1234 { // more than one backfill batch
		name := fmt.Sprintf("old/%04d", i)
		s := &storage.Secret{ARN: arnOf(name), Account: "123456789012", Region: "us-east-1", Name: name,
			Description: fmt.Sprintf("legacy item%d", i%3), Created: time.UnixMilli(int64(1000 + i))}
		if i%2 == 0 {
			s.Tags = []storage.Tag{{Key: "half", Value: "yes"}}
		}
		secs = append(secs, s)
	}
	insertSecrets(t, db, secs)
	// Take the database back to schema version 1.
	for _, stmt := range []string{
		"DROP TABLE audit_blocks",  // 0008 (0007 dropped an index of audit_records)
		"DROP TABLE audit_journal", // 0006
		"DROP TABLE audit_records", // 0005
		"DROP TABLE audit_digests",
		"DROP INDEX access_keys_principal", // 0004
		"DROP TABLE iam_entities",
		"DROP INDEX secrets_by_deletion", // 0003
		"DROP INDEX secrets_by_accessed_order",
		"ALTER TABLE secrets DROP COLUMN accessed_order",
		"DROP INDEX secrets_by_changed",
		"DROP INDEX secrets_by_accessed",
		"DROP INDEX secrets_by_created",
		"CREATE INDEX secrets_by_created ON secrets (account, region, created_ms, arn)",
		"DROP TABLE secret_words",
		"DROP TABLE secret_tags",
		"DROP INDEX secrets_by_search_id",
		"ALTER TABLE secrets DROP COLUMN search_id",
		"ALTER TABLE secrets DROP COLUMN search_digest",
		"DELETE FROM schema_migrations WHERE version >= 2",
	} {
		if _, err := db.w.c.sc.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		f    storage.Filter
		want int
	}{
		{storage.Filter{Key: storage.FilterDescription, Values: []storage.FilterValue{{Value: "legacy item1"}}}, 411},
		{storage.Filter{Key: storage.FilterTagValue, Values: []storage.FilterValue{{Value: "ye"}}}, 617},
		{storage.Filter{Key: storage.FilterAll, Values: []storage.FilterValue{{Value: "old half"}}}, 617},
	} {
		var got []*storage.Secret
		err := db.View(t.Context(), func(tx storage.Tx) (err error) {
			got, err = tx.ListSecrets(storage.SecretQuery{Account: "123456789012", Region: "us-east-1",
				Filters: []storage.Filter{tc.f}, SortBy: storage.SortName, Desc: true})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, s := range slices.Backward(secs) {
			if tc.f.Match(s) {
				want = append(want, s.Name)
			}
		}
		var gotNames []string
		for _, s := range got {
			gotNames = append(gotNames, s.Name)
		}
		if len(want) != tc.want || !slices.Equal(gotNames, want) {
			t.Errorf("%v after the backfill: %d secrets, want %d", tc.f, len(gotNames), tc.want)
		}
	}
}

// Benchmarks of filtered pages on a large store.

// listBenchSecrets is the size of the store BenchmarkListSecretsFiltered
// loads; loading takes a few seconds.
const listBenchSecrets = 100_000

var (
	benchTeams = []string{"payments", "search", "identity", "billing", "growth", "platform", "data", "mobile", "web", "security"}
	benchEnvs  = []string{"prod", "staging", "dev", "qa"}
	benchWords = []string{"database", "password", "token", "api", "key", "service", "account", "primary", "replica", "legacy",
		"rotation", "oauth", "client", "secret", "webhook", "signing", "cache", "queue", "admin", "readonly"}
)

// loadListBench fills db with n secrets in transactions of 1000: names
// <env>/<team>/svc<k>/secret-<i>, a four-word description, two or three
// tags (env, team, and on one secret in a thousand "pager").
func loadListBench(b testing.TB, db *DB, n int) {
	b.Helper()
	ctx := context.Background()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const perTx = 1000
	for start := 0; start < n; start += perTx {
		err := db.Update(ctx, func(tx storage.Tx) error {
			for i := start; i < min(start+perTx, n); i++ {
				env, team := benchEnvs[i%len(benchEnvs)], benchTeams[(i/7)%len(benchTeams)]
				name := fmt.Sprintf("%s/%s/svc%d/secret-%d", env, team, i%50, i)
				desc := fmt.Sprintf("%s %s %s %s", benchWords[i%20], benchWords[(i/20)%20], benchWords[(i/400)%20], benchWords[(i*7)%20])
				tags := []storage.Tag{{Key: "env", Value: env}, {Key: "team", Value: team}}
				if i%1000 == 0 {
					tags = append(tags, storage.Tag{Key: "pager", Value: "oncall"})
				}
				s := &storage.Secret{
					ARN: arnOf(name), Account: "123456789012", Region: "us-east-1", Name: name,
					Description: desc, Tags: tags, TagsSet: true,
					Stages:  map[string][]string{"11111111-2222-3333-4444-555555555555": {"AWSCURRENT"}},
					Created: base.Add(time.Duration(i) * time.Second), LastChanged: base.Add(time.Duration((i*7919)%n) * time.Second),
				}
				if i%3 != 0 {
					s.LastAccessed = base.AddDate(0, 0, i%90)
				}
				if err := tx.InsertSecret(s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListSecretsFiltered measures one page of 100 (a query with
// Limit 101, as the domain asks) on a store of 100,000 secrets, for
// filters of every kind and selectivity. Run it with
//
//	go test -run '^$' -bench ListSecretsFiltered -benchtime 2s ./internal/storage/sqlite/
func BenchmarkListSecretsFiltered(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 100,000 secrets")
	}
	db := openTest(b)
	defer db.Close()
	start := time.Now()
	loadListBench(b, db, listBenchSecrets)
	b.Logf("loaded %d secrets in %v", listBenchSecrets, time.Since(start).Round(time.Millisecond))
	var size int64
	if err := db.w.c.sc.QueryRowContext(b.Context(), "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").Scan(&size); err == nil {
		b.Logf("database size %.1f MiB", float64(size)/(1<<20))
	}
	fv := func(values ...string) []storage.FilterValue {
		var out []storage.FilterValue
		for _, v := range values {
			rest, not := strings.CutPrefix(v, "!")
			out = append(out, storage.FilterValue{Not: not, Value: rest})
		}
		return out
	}
	flt := func(key storage.FilterKey, values ...string) storage.Filter {
		return storage.Filter{Key: key, Values: fv(values...)}
	}
	type bench struct {
		name    string
		filters []storage.Filter
		sort    storage.SortKey
		desc    bool
	}
	benches := []bench{
		{"none", nil, storage.SortCreated, false},
		{"none/name-desc", nil, storage.SortName, true},
		{"none/accessed", nil, storage.SortLastAccessed, false},
		{"name-prefix/broad", []storage.Filter{flt(storage.FilterName, "prod/")}, storage.SortCreated, false},
		{"name-prefix/narrow", []storage.Filter{flt(storage.FilterName, "prod/payments/svc4/")}, storage.SortCreated, false},
		{"name-prefix/narrow/by-name", []storage.Filter{flt(storage.FilterName, "prod/payments/svc4/")}, storage.SortName, false},
		{"name-prefix/none", []storage.Filter{flt(storage.FilterName, "nothing/")}, storage.SortCreated, false},
		{"tag-key/rare", []storage.Filter{flt(storage.FilterTagKey, "pager")}, storage.SortCreated, false},
		{"tag-key/all", []storage.Filter{flt(storage.FilterTagKey, "env")}, storage.SortCreated, false},
		{"tag-value/10%", []storage.Filter{flt(storage.FilterTagValue, "security")}, storage.SortLastChanged, true},
		{"description/5%", []storage.Filter{flt(storage.FilterDescription, "webhook")}, storage.SortCreated, false},
		{"description/2-words", []storage.Filter{flt(storage.FilterDescription, "webhook sign")}, storage.SortCreated, false},
		{"description/rare-pair", []storage.Filter{flt(storage.FilterDescription, "legacy oauth admin")}, storage.SortCreated, false},
		{"all/word", []storage.Filter{flt(storage.FilterAll, "identity")}, storage.SortCreated, false},
		{"all/narrow", []storage.Filter{flt(storage.FilterAll, "secret 4242")}, storage.SortCreated, false},
		{"negation", []storage.Filter{flt(storage.FilterDescription, "!database")}, storage.SortCreated, false},
		{"negation/narrow-result", []storage.Filter{flt(storage.FilterName, "!prod", "!dev", "!qa"), flt(storage.FilterDescription, "!a", "!b", "!d", "!k", "!o", "!p", "!q", "!r", "!s", "!t")}, storage.SortCreated, false},
		{"and/broad-broad-narrow", []storage.Filter{flt(storage.FilterTagKey, "env"), flt(storage.FilterAll, "prod"), flt(storage.FilterDescription, "cache queue")}, storage.SortCreated, false},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			q := storage.SecretQuery{Account: "123456789012", Region: "us-east-1", Filters: bc.filters,
				SortBy: bc.sort, Desc: bc.desc, Limit: 101}
			var n int
			for b.Loop() {
				err := db.View(b.Context(), func(tx storage.Tx) error {
					got, err := tx.ListSecrets(q)
					n = len(got)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "items")
		})
	}
	// Paging deep into a broad filter: the 200th page.
	b.Run("tag-key/all/page-200", func(b *testing.B) {
		q := storage.SecretQuery{Account: "123456789012", Region: "us-east-1", Limit: 101,
			Filters: []storage.Filter{{Key: storage.FilterTagKey, Values: fv("env")}}}
		err := db.View(b.Context(), func(tx storage.Tx) error {
			for range 199 {
				q.Limit = 100
				got, err := tx.ListSecrets(q)
				if err != nil {
					return err
				}
				q.After = storage.CursorAt(got[len(got)-1])
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		q.Limit = 101
		for b.Loop() {
			if err := db.View(b.Context(), func(tx storage.Tx) error { _, err := tx.ListSecrets(q); return err }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsertSecretIndexed measures InsertSecret with its filter
// index rows, 1000 to a transaction.
func BenchmarkInsertSecretIndexed(b *testing.B) {
	db := openTest(b)
	defer db.Close()
	b.ResetTimer()
	loadListBench(b, db, max(b.N, 1000))
	b.StopTimer()
	b.ReportMetric(float64(max(b.N, 1000))/b.Elapsed().Seconds(), "secrets/s")
}
