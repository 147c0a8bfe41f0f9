package storagetest

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// page lists one page.
func page(t *testing.T, s storage.Store, q storage.SecretQuery) []*storage.Secret {
	t.Helper()
	var got []*storage.Secret
	view(t, s, func(tx storage.Tx) (err error) {
		got, err = tx.ListSecrets(q)
		return err
	})
	return got
}

// listAll pages through q with pages of limit, calling between (if set) after
// each page with the page number and the cursor. It checks the page sizes.
func listAll(t *testing.T, s storage.Store, q storage.SecretQuery, limit int, between func(n int, c *storage.Cursor)) []*storage.Secret {
	t.Helper()
	q.Limit = limit
	q.After = nil
	var all []*storage.Secret
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatal("ListSecrets: paging does not end")
		}
		got := page(t, s, q)
		if len(got) > limit {
			t.Fatalf("ListSecrets page %d: %d items, limit %d", n, len(got), limit)
		}
		all = append(all, got...)
		if len(got) < limit {
			return all
		}
		q.After = storage.CursorAt(got[len(got)-1])
		if between != nil {
			between(n, q.After)
		}
	}
}

// sortSecrets orders secrets as ListSecrets must: by (Created at ms, ARN).
func sortSecrets(secs []*storage.Secret) []*storage.Secret {
	out := slices.Clone(secs)
	slices.SortFunc(out, func(a, b *storage.Secret) int {
		return cmp.Or(ms(a.Created).Compare(ms(b.Created)), cmp.Compare(a.ARN, b.ARN))
	})
	return out
}

func arns(secs []*storage.Secret) []string {
	var out []string
	for _, s := range secs {
		out = append(out, s.ARN)
	}
	return out
}

func active(secs []*storage.Secret) []*storage.Secret {
	return slices.DeleteFunc(slices.Clone(secs), func(s *storage.Secret) bool { return !s.DeletionDate.IsZero() })
}

func testListSecrets(t *testing.T, s storage.Store) {
	// 25 secrets in clusters of three within one millisecond (the ARN breaks
	// the tie), inserted in an order unrelated to either; every fifth one
	// scheduled for deletion.
	var secs []*storage.Secret
	for _, i := range []int{7, 3, 22, 0, 15, 9, 24, 1, 18, 11, 5, 20, 13, 2, 8, 16, 23, 4, 19, 10, 6, 14, 21, 12, 17} {
		created := base.Add(time.Duration(i/3)*time.Second + time.Duration(i%3)*100*time.Microsecond)
		name := fmt.Sprintf("list/%02d", (i*7)%25)
		sec := newSecret(acct, region, name, fmt.Sprintf("S%05d", (i*13)%25), created)
		if i%5 == 0 {
			sec.DeletionDate = base.Add(30 * 24 * time.Hour)
		}
		secs = append(secs, sec)
	}
	insertSecrets(t, s, secs...)
	all := sortSecrets(secs)

	for _, tc := range []struct {
		includeDeleted bool
		want           []*storage.Secret
	}{
		{true, all},
		{false, active(all)},
	} {
		q := storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: tc.includeDeleted}
		for _, limit := range []int{1, 2, 7, 10, 20, 25, 26, 100} {
			got := listAll(t, s, q, limit, nil)
			if !slices.Equal(arns(got), arns(tc.want)) {
				t.Errorf("IncludeDeleted %v, pages of %d:\n got %v\nwant %v", tc.includeDeleted, limit, arns(got), arns(tc.want))
			}
		}
		got := page(t, s, q) // Limit 0: everything
		if !slices.Equal(arns(got), arns(tc.want)) {
			t.Errorf("IncludeDeleted %v, no limit:\n got %v\nwant %v", tc.includeDeleted, arns(got), arns(tc.want))
		}
		if len(got) == len(tc.want) {
			for i, g := range got {
				checkSecret(t, g, tc.want[i])
			}
		}
	}

	// A cursor that is not an item's position still splits the order.
	mid := all[10]
	q := storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: true,
		After: &storage.Cursor{Created: ms(mid.Created), ARN: mid.ARN + "~"}}
	if got := page(t, s, q); !slices.Equal(arns(got), arns(all[11:])) {
		t.Errorf("after a cursor between items:\n got %v\nwant %v", arns(got), arns(all[11:]))
	}
	q.After = &storage.Cursor{Created: ms(mid.Created).Add(time.Millisecond)}
	var want []*storage.Secret
	for _, sec := range all {
		if ms(sec.Created).After(ms(mid.Created)) {
			want = append(want, sec)
		}
	}
	if got := page(t, s, q); !slices.Equal(arns(got), arns(want)) {
		t.Errorf("after a cursor with an empty ARN:\n got %v\nwant %v", arns(got), arns(want))
	}
	q.After = &storage.Cursor{Created: ms(all[len(all)-1].Created), ARN: all[len(all)-1].ARN}
	if got := page(t, s, q); len(got) != 0 {
		t.Errorf("after the last item: %v, want nothing", arns(got))
	}
}

func testListSecretsScope(t *testing.T, s storage.Store) {
	scopes := []struct{ account, region string }{{acct, region}, {acct, region2}, {acct2, region}}
	want := map[string][]*storage.Secret{}
	for i, sc := range scopes {
		for j := range 3 {
			sec := newSecret(sc.account, sc.region, fmt.Sprintf("scope/%d", j), fmt.Sprintf("X%d%d", i, j), base.Add(time.Duration(j)*time.Second))
			insertSecrets(t, s, sec)
			want[sc.account+"/"+sc.region] = append(want[sc.account+"/"+sc.region], sec)
		}
	}
	for _, sc := range scopes {
		got := listAll(t, s, storage.SecretQuery{Account: sc.account, Region: sc.region, IncludeDeleted: true}, 2, nil)
		w := sortSecrets(want[sc.account+"/"+sc.region])
		if !slices.Equal(arns(got), arns(w)) {
			t.Errorf("ListSecrets %s/%s:\n got %v\nwant %v", sc.account, sc.region, arns(got), arns(w))
		}
	}
	if got := page(t, s, storage.SecretQuery{Account: acct2, Region: region2, IncludeDeleted: true}); len(got) != 0 {
		t.Errorf("ListSecrets of an empty scope: %v", arns(got))
	}
}

// testListSecretsStable changes the store between pages: whatever existed
// throughout is listed exactly once.
func testListSecretsStable(t *testing.T, s storage.Store) {
	var secs []*storage.Secret
	for i := range 20 {
		secs = append(secs, newSecret(acct, region, fmt.Sprintf("stable/%02d", i), "AAAAAA", base.Add(time.Duration(i)*time.Second)))
	}
	insertSecrets(t, s, secs...)
	deleted := map[string]bool{}
	var later []*storage.Secret
	n := 0
	got := listAll(t, s, storage.SecretQuery{Account: acct, Region: region}, 4, func(page int, c *storage.Cursor) {
		update(t, s, func(tx storage.Tx) error {
			n++
			// Before the cursor: never listed.
			if err := tx.InsertSecret(newSecret(acct, region, fmt.Sprintf("early/%d", n), "BBBBBB", c.Created.Add(-time.Millisecond))); err != nil {
				return err
			}
			// At the cursor's time but sorting before it.
			early := newSecret(acct, region, fmt.Sprintf("tie/%d", n), "CCCCCC", c.Created)
			early.ARN = c.ARN[:len(c.ARN)-1] // a prefix sorts first
			if err := tx.InsertSecret(early); err != nil {
				return err
			}
			// After the cursor: listed.
			sec := newSecret(acct, region, fmt.Sprintf("late/%d", n), "DDDDDD", base.Add(time.Hour+time.Duration(n)*time.Second))
			later = append(later, sec)
			if err := tx.InsertSecret(sec); err != nil {
				return err
			}
			// Delete one not listed yet, and schedule another for deletion.
			if 19-2*page < (page+1)*4+2 {
				return nil // all listed already
			}
			victim := secs[19-2*page]
			deleted[victim.ARN] = true
			if err := tx.DeleteSecret(victim.ARN); err != nil {
				return err
			}
			hidden := *secs[18-2*page]
			hidden.DeletionDate = base.Add(48 * time.Hour)
			deleted[hidden.ARN] = true
			return tx.UpdateSecret(&hidden)
		})
	})
	var want []*storage.Secret
	for _, sec := range secs {
		if !deleted[sec.ARN] {
			want = append(want, sec)
		}
	}
	want = append(want, later...)
	if !slices.Equal(arns(got), arns(want)) {
		t.Errorf("ListSecrets with writes between pages:\n got %v\nwant %v", arns(got), arns(want))
	}
}

// RunListSecrets runs the ListSecrets tests of the suite alone: for a
// backend with several ways to answer a query, which its own tests force
// one after the other. Run includes them.
func RunListSecrets(t *testing.T, open func(t *testing.T) storage.Store) {
	runTests(t, open, listTests)
}

var listTests = []suiteTest{
	{"ListSecrets", testListSecrets},
	{"ListSecretsScope", testListSecretsScope},
	{"ListSecretsStable", testListSecretsStable},
	{"ListSecretsFilters", testListSecretsFilters},
	{"ListSecretsFilterIndex", testListSecretsFilterIndex},
	{"ListSecretsOrders", testListSecretsOrders},
	{"ListSecretsOrdersStable", testListSecretsOrdersStable},
	{"ListSecretsFiltersRandom", testListSecretsFiltersRandom},
	{"ListSecretsQueryErrors", testListSecretsQueryErrors},
}

// Filters, orders and the filter index.

func fv(values ...string) []storage.FilterValue {
	var out []storage.FilterValue
	for _, v := range values {
		if rest, ok := strings.CutPrefix(v, "!"); ok {
			out = append(out, storage.FilterValue{Not: true, Value: rest})
		} else {
			out = append(out, storage.FilterValue{Value: v})
		}
	}
	return out
}

func flt(key storage.FilterKey, values ...string) storage.Filter {
	return storage.Filter{Key: key, Values: fv(values...)}
}

func names(secs []*storage.Secret) []string {
	var out []string
	for _, s := range secs {
		out = append(out, s.Name)
	}
	return out
}

// filterFixtures are secrets for the filter tests, created in this order.
func filterFixtures() []*storage.Secret {
	type fx struct {
		name, desc string
		tags       []storage.Tag
	}
	fxs := []fx{
		{"prod/AppBeta/db", "Main database password", []storage.Tag{{Key: "Environment", Value: "Production"}, {Key: "team", Value: "core-infra"}}},
		{"prod/AppBeta/api", "API key of the beta app", []storage.Tag{{Key: "Environment", Value: "Prod1"}}},
		{"dev/app/db", "", []storage.Tag{{Key: "env", Value: "dev"}}},
		{"/testing/one", "a secret", nil},
		{"uat/COMPANYthings/x", "an secret", []storage.Tag{{Key: "Owner", Value: "COMPANY"}}},
		{"uat/COMPANY/y", "asecret", []storage.Tag{{Key: "team", Value: ""}}},
		{"Prod/upper", "MyTestPhrase here", []storage.Tag{{Key: "prod", Value: "Prod"}}},
		{"deleted/one", "a deleted secret", []storage.Tag{{Key: "env", Value: "prod"}}},
		{"prod-mixed/name", "mixed-kinds/here", nil},
		{"glob*[x]?", "100% off_the%chart", []storage.Tag{{Key: "a*b", Value: "c?d"}}},
	}
	var out []*storage.Secret
	for i, f := range fxs {
		sec := newSecret(acct, region, f.name, fmt.Sprintf("F%05d", i), base.Add(time.Duration(i)*time.Second))
		sec.Description, sec.Tags, sec.TagsSet = f.desc, f.tags, f.tags != nil
		if f.name == "deleted/one" {
			sec.DeletionDate = base.Add(30 * 24 * time.Hour)
		}
		out = append(out, sec)
	}
	return out
}

// testListSecretsFilters checks every filter key, negation, AND and OR
// through the store, against explicit expectations and the reference
// storage.MatchFilters.
func testListSecretsFilters(t *testing.T, s storage.Store) {
	secs := filterFixtures()
	insertSecrets(t, s, secs...)
	// The same tags and words in another region and another account: never listed.
	for _, sc := range []struct{ account, region string }{{acct, region2}, {acct2, region}} {
		for i, sec := range filterFixtures() {
			other := *sec
			other.Account, other.Region = sc.account, sc.region
			other.ARN = arnOf(sc.account, sc.region, sec.Name, fmt.Sprintf("O%05d", i))
			insertSecrets(t, s, &other)
		}
	}
	const (
		db       = "prod/AppBeta/db"
		api      = "prod/AppBeta/api"
		dev      = "dev/app/db"
		testing  = "/testing/one"
		things   = "uat/COMPANYthings/x"
		company  = "uat/COMPANY/y"
		upper    = "Prod/upper"
		deleted  = "deleted/one"
		mixed    = "prod-mixed/name"
		glob     = "glob*[x]?"
		withDels = true
	)
	everyone := []string{db, api, dev, testing, things, company, upper, mixed, glob}
	for _, tc := range []struct {
		filters        []storage.Filter
		includeDeleted bool
		want           []string
	}{
		{nil, false, everyone},
		// name: case-sensitive prefix of the whole name.
		{[]storage.Filter{flt(storage.FilterName, "prod/")}, false, []string{db, api}},
		{[]storage.Filter{flt(storage.FilterName, "Prod")}, false, []string{upper}},
		{[]storage.Filter{flt(storage.FilterName, "prod")}, false, []string{db, api, mixed}},
		{[]storage.Filter{flt(storage.FilterName, "AppBeta")}, false, nil},
		{[]storage.Filter{flt(storage.FilterName, "prod/AppBeta/db ")}, false, nil},
		{[]storage.Filter{flt(storage.FilterName, "prod/AppBeta/db")}, false, []string{db}},
		{[]storage.Filter{flt(storage.FilterName, "!prod")}, false, []string{dev, testing, things, company, upper, glob}},
		{[]storage.Filter{flt(storage.FilterName, "prod/", "dev/")}, false, []string{db, api, dev}},
		{[]storage.Filter{flt(storage.FilterName, "dev", "!prod")}, false, []string{dev, testing, things, company, upper, glob}},
		{[]storage.Filter{flt(storage.FilterName, "glob*")}, false, []string{glob}}, // no wildcards
		{[]storage.Filter{flt(storage.FilterName, "glob")}, false, []string{glob}},
		{[]storage.Filter{flt(storage.FilterName, "g*")}, false, nil},
		{[]storage.Filter{flt(storage.FilterName, "deleted")}, false, nil},
		{[]storage.Filter{flt(storage.FilterName, "deleted")}, withDels, []string{deleted}},
		{[]storage.Filter{flt(storage.FilterName, "")}, false, everyone},
		{[]storage.Filter{flt(storage.FilterName, "!")}, false, nil},
		// description: word prefixes, case-insensitive.
		{[]storage.Filter{flt(storage.FilterDescription, "secret")}, false, []string{testing, things}},
		{[]storage.Filter{flt(storage.FilterDescription, "a secret")}, false, []string{testing, things}},
		{[]storage.Filter{flt(storage.FilterDescription, "a secret")}, withDels, []string{testing, things, deleted}},
		{[]storage.Filter{flt(storage.FilterDescription, "a")}, false, []string{api, testing, things, company}},
		{[]storage.Filter{flt(storage.FilterDescription, "!a")}, false, []string{db, dev, upper, mixed, glob}},
		{[]storage.Filter{flt(storage.FilterDescription, "my test")}, false, []string{upper}},
		{[]storage.Filter{flt(storage.FilterDescription, "DATA")}, false, []string{db}},
		{[]storage.Filter{flt(storage.FilterDescription, "prod")}, false, nil},                      // name and tag words do not count
		{[]storage.Filter{flt(storage.FilterDescription, "kinds")}, false, nil},                     // mixed kinds: one word
		{[]storage.Filter{flt(storage.FilterDescription, "mixed-kinds")}, false, nil},               // the value has one kind: "mixed", "kinds"
		{[]storage.Filter{flt(storage.FilterDescription, "mixed-kinds/h")}, false, []string{mixed}}, // mixed kinds: one word
		{[]storage.Filter{flt(storage.FilterDescription, "MIXED")}, false, []string{mixed}},
		{[]storage.Filter{flt(storage.FilterDescription, "100 chart")}, false, []string{glob}},
		{[]storage.Filter{flt(storage.FilterDescription, "+")}, false, nil},
		{[]storage.Filter{flt(storage.FilterDescription, "!+")}, false, everyone},
		// Two filters with the same key are both required.
		{[]storage.Filter{flt(storage.FilterDescription, "a"), flt(storage.FilterDescription, "key")}, false, []string{api}},
		{[]storage.Filter{flt(storage.FilterName, "prod"), flt(storage.FilterName, "prod/AppBeta/d")}, false, []string{db}},
		// tag-key and tag-value: case-sensitive prefix of some tag key or value.
		{[]storage.Filter{flt(storage.FilterTagKey, "Env")}, false, []string{db, api}},
		{[]storage.Filter{flt(storage.FilterTagKey, "env")}, false, []string{dev}},
		{[]storage.Filter{flt(storage.FilterTagKey, "env")}, withDels, []string{dev, deleted}},
		{[]storage.Filter{flt(storage.FilterTagKey, "")}, false, []string{db, api, dev, things, company, upper, glob}},
		{[]storage.Filter{flt(storage.FilterTagKey, "!Env")}, false, []string{dev, testing, things, company, upper, mixed, glob}},
		{[]storage.Filter{flt(storage.FilterTagKey, "!")}, false, []string{testing, mixed}},
		{[]storage.Filter{flt(storage.FilterTagKey, "a*")}, false, []string{glob}},
		{[]storage.Filter{flt(storage.FilterTagValue, "Prod")}, false, []string{db, api, upper}},
		{[]storage.Filter{flt(storage.FilterTagValue, "prod")}, false, nil},
		{[]storage.Filter{flt(storage.FilterTagValue, "core-")}, false, []string{db}},
		{[]storage.Filter{flt(storage.FilterTagValue, "infra")}, false, nil},
		{[]storage.Filter{flt(storage.FilterTagValue, "c?")}, false, []string{glob}},
		{[]storage.Filter{flt(storage.FilterTagKey, "Environment"), flt(storage.FilterTagValue, "Prod1")}, false, []string{api}},
		{[]storage.Filter{flt(storage.FilterTagKey, "Environment"), flt(storage.FilterDescription, "beta")}, false, []string{api}},
		// all: word prefixes anywhere, each word anywhere.
		{[]storage.Filter{flt(storage.FilterAll, "beta")}, false, []string{db, api}},
		{[]storage.Filter{flt(storage.FilterAll, "company")}, false, []string{things, company}},
		{[]storage.Filter{flt(storage.FilterAll, "ythings")}, false, []string{things}},
		{[]storage.Filter{flt(storage.FilterAll, "things")}, false, nil},
		{[]storage.Filter{flt(storage.FilterAll, "core infra")}, false, []string{db}},
		{[]storage.Filter{flt(storage.FilterAll, "environment main")}, false, []string{db}},
		{[]storage.Filter{flt(storage.FilterAll, "prod")}, false, []string{db, api, upper, mixed}},
		{[]storage.Filter{flt(storage.FilterAll, "!prod")}, false, []string{dev, testing, things, company, glob}},
		{[]storage.Filter{flt(storage.FilterAll, "owner", "dev")}, false, []string{dev, things}},
		{[]storage.Filter{flt(storage.FilterAll, "-")}, false, nil},
		// Replicas and managed secrets do not exist: nothing, or everything negated.
		{[]storage.Filter{flt(storage.FilterPrimaryRegion, "us")}, false, nil},
		{[]storage.Filter{flt(storage.FilterOwningService, "")}, false, nil},
		{[]storage.Filter{flt(storage.FilterOwningService, "!rds")}, false, everyone},
		{[]storage.Filter{flt(storage.FilterPrimaryRegion, "!us"), flt(storage.FilterName, "dev")}, false, []string{dev}},
		{[]storage.Filter{flt(storage.FilterPrimaryRegion, "us"), flt(storage.FilterName, "dev")}, false, nil},
	} {
		q := storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: tc.includeDeleted, Filters: tc.filters}
		var ref []string
		for _, sec := range secs {
			if (tc.includeDeleted || sec.DeletionDate.IsZero()) && storage.MatchFilters(tc.filters, sec) {
				ref = append(ref, sec.Name)
			}
		}
		if !slices.Equal(ref, tc.want) {
			t.Errorf("filters %v: storage.MatchFilters gives %q, the table %q", tc.filters, ref, tc.want)
		}
		for _, limit := range []int{0, 1, 3} {
			var got []*storage.Secret
			if limit == 0 {
				got = page(t, s, q)
			} else {
				got = listAll(t, s, q, limit, nil)
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("filters %v, deleted %v, pages of %d:\n got %q\nwant %q", tc.filters, tc.includeDeleted, limit, names(got), tc.want)
			}
		}
	}
	// Listed records are whole.
	got := page(t, s, storage.SecretQuery{Account: acct, Region: region, Filters: []storage.Filter{flt(storage.FilterTagKey, "Env")}})
	if len(got) == 2 {
		checkSecret(t, got[0], secs[0])
		checkSecret(t, got[1], secs[1])
	}
}

// testListSecretsFilterIndex checks that filters follow UpdateSecret and
// DeleteSecret in the same transaction.
func testListSecretsFilterIndex(t *testing.T, s storage.Store) {
	sec := newSecret(acct, region, "idx/one", "AAAAAA", base)
	sec.Description = "alpha beta"
	sec.Tags = []storage.Tag{{Key: "colour", Value: "red"}}
	other := newSecret(acct, region, "idx/two", "BBBBBB", base.Add(time.Second))
	other.Description = "gamma"
	insertSecrets(t, s, sec, other)
	find := func(filters ...storage.Filter) []string {
		t.Helper()
		return names(page(t, s, storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: true, Filters: filters}))
	}
	want := func(what string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", what, got, want)
		}
	}
	want("description before", find(flt(storage.FilterDescription, "alpha")), "idx/one")
	want("tag before", find(flt(storage.FilterTagValue, "red")), "idx/one")

	// A new description, tags and name replace the old words and tags.
	upd := *sec
	upd.Name = "idx/renamed"
	upd.Description = "delta"
	upd.Tags = []storage.Tag{{Key: "shape", Value: "round"}}
	update(t, s, func(tx storage.Tx) error { return tx.UpdateSecret(&upd) })
	want("old description", find(flt(storage.FilterDescription, "alpha")))
	want("new description", find(flt(storage.FilterDescription, "delta")), "idx/renamed")
	want("old tag key", find(flt(storage.FilterTagKey, "colour")))
	want("old tag value", find(flt(storage.FilterAll, "red")))
	want("new tag", find(flt(storage.FilterTagKey, "shape"), flt(storage.FilterTagValue, "round")), "idx/renamed")
	want("old name word", find(flt(storage.FilterAll, "one")))
	want("new name word", find(flt(storage.FilterAll, "renamed")), "idx/renamed")
	want("new name", find(flt(storage.FilterName, "idx/r")), "idx/renamed")
	want("other untouched", find(flt(storage.FilterDescription, "gamma")), "idx/two")

	// An update that changes other fields keeps the index as it is.
	upd2 := upd
	upd2.LastAccessed = base.Add(24 * time.Hour)
	upd2.Stages = map[string][]string{"v2": {"AWSCURRENT"}}
	update(t, s, func(tx storage.Tx) error { return tx.UpdateSecret(&upd2) })
	want("after a metadata update", find(flt(storage.FilterAll, "delta round renamed")), "idx/renamed")

	// Tags removed: no tag matches, negations do.
	upd3 := upd2
	upd3.Tags = nil
	update(t, s, func(tx storage.Tx) error { return tx.UpdateSecret(&upd3) })
	want("tags removed", find(flt(storage.FilterTagKey, "")), "idx/two")
	want("tags removed, negated", find(flt(storage.FilterTagKey, "!")), "idx/renamed")

	// A failed update (name taken) changes nothing, the index included.
	clash := upd3
	clash.Name, clash.Description = "idx/two", "epsilon"
	err := s.Update(t.Context(), func(tx storage.Tx) error {
		if err := tx.UpdateSecret(&clash); !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("UpdateSecret to a taken name: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want("after a failed update", find(flt(storage.FilterDescription, "epsilon")))
	want("after a failed update", find(flt(storage.FilterDescription, "delta")), "idx/renamed")

	// An update rolled back with its closure leaves the index as it was.
	rolled := upd3
	rolled.Description = "zeta"
	errRollback := errors.New("roll back")
	if err := s.Update(t.Context(), func(tx storage.Tx) error {
		if err := tx.UpdateSecret(&rolled); err != nil {
			return err
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatalf("Update: %v", err)
	}
	want("after a rollback", find(flt(storage.FilterDescription, "zeta")))
	want("after a rollback", find(flt(storage.FilterDescription, "delta")), "idx/renamed")

	// Inside the writing transaction, the closure sees its own changes.
	update(t, s, func(tx storage.Tx) error {
		upd4 := upd3
		upd4.Description = "eta"
		if err := tx.UpdateSecret(&upd4); err != nil {
			return err
		}
		got, err := tx.ListSecrets(storage.SecretQuery{Account: acct, Region: region, Filters: []storage.Filter{flt(storage.FilterDescription, "eta")}})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].ARN != upd4.ARN {
			t.Errorf("read your write: %q", names(got))
		}
		return tx.UpdateSecret(&upd3)
	})

	// Deleted: gone from every filter; a new secret with the same ARN
	// starts with its own words only.
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSecret(sec.ARN) })
	want("deleted", find(flt(storage.FilterDescription, "delta")))
	want("deleted", find(flt(storage.FilterAll, "renamed")))
	want("deleted", find(flt(storage.FilterTagKey, "")), "idx/two")
	again := newSecret(acct, region, "idx/again", "AAAAAA", base.Add(time.Hour))
	again.ARN = sec.ARN
	again.Description = "theta"
	again.Tags = nil
	insertSecrets(t, s, again)
	want("reinserted, old words", find(flt(storage.FilterDescription, "delta")))
	want("reinserted, new words", find(flt(storage.FilterDescription, "theta")), "idx/again")

	// An insert that fails (name taken) leaves no words behind.
	dup := newSecret(acct, region, "idx/two", "CCCCCC", base)
	dup.Description = "iota"
	if err := s.Update(t.Context(), func(tx storage.Tx) error {
		if err := tx.InsertSecret(dup); !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("InsertSecret of a taken name: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want("failed insert", find(flt(storage.FilterDescription, "iota")))
}

// sortedBy orders secs as ListSecrets must for key and desc, with times
// as stored (milliseconds).
func sortedBy(secs []*storage.Secret, key storage.SortKey, desc bool) []*storage.Secret {
	out := slices.Clone(secs)
	slices.SortFunc(out, func(a, b *storage.Secret) int { return compareIn(a, b, key, desc) })
	return out
}

// compareIn compares a and b in the order of key and desc.
func compareIn(a, b *storage.Secret, key storage.SortKey, desc bool) int {
	var c int
	switch key {
	case storage.SortCreated:
		c = ms(a.Created).Compare(ms(b.Created))
	case storage.SortName:
		c = strings.Compare(a.Name, b.Name)
	case storage.SortLastChanged:
		c = ms(a.LastChanged).Compare(ms(b.LastChanged))
	case storage.SortLastAccessed:
		za, zb := a.LastAccessed.IsZero(), b.LastAccessed.IsZero()
		if za != zb { // never accessed: last in both directions
			if za {
				return 1
			}
			return -1
		}
		c = ms(a.LastAccessed).Compare(ms(b.LastAccessed))
	}
	c = cmp.Or(c, strings.Compare(a.ARN, b.ARN))
	if desc {
		c = -c
	}
	return c
}

var sortKeys = []storage.SortKey{storage.SortCreated, storage.SortName, storage.SortLastChanged, storage.SortLastAccessed}

// orderFixtures are secrets with ties on every date (same millisecond,
// same access day) and secrets never accessed.
func orderFixtures() []*storage.Secret {
	var secs []*storage.Secret
	for i := range 23 {
		created := base.Add(time.Duration(i/3)*time.Second + time.Duration(i%3)*100*time.Microsecond)
		sec := newSecret(acct, region, fmt.Sprintf("order/%02d", (i*7)%23), fmt.Sprintf("S%05d", (i*13)%23), created)
		sec.LastChanged = base.Add(time.Duration((i*5)%7) * time.Minute)
		if i%4 != 0 {
			sec.LastAccessed = base.Truncate(24*time.Hour).AddDate(0, 0, (i*3)%5)
		}
		if i%2 == 0 {
			sec.Description = "even secret"
		}
		if i%6 == 1 {
			sec.DeletionDate = base.Add(7 * 24 * time.Hour)
		}
		secs = append(secs, sec)
	}
	return secs
}

// testListSecretsOrders pages through every order in both directions.
func testListSecretsOrders(t *testing.T, s storage.Store) {
	secs := orderFixtures()
	insertSecrets(t, s, secs...)
	even := []storage.Filter{flt(storage.FilterDescription, "even")}
	for _, key := range sortKeys {
		for _, desc := range []bool{false, true} {
			for _, includeDeleted := range []bool{false, true} {
				for _, filters := range [][]storage.Filter{nil, even} {
					var want []*storage.Secret
					for _, sec := range sortedBy(secs, key, desc) {
						if (includeDeleted || sec.DeletionDate.IsZero()) && storage.MatchFilters(filters, sec) {
							want = append(want, sec)
						}
					}
					q := storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: includeDeleted,
						Filters: filters, SortBy: key, Desc: desc}
					for _, limit := range []int{1, 2, 5, 23, 100} {
						got := listAll(t, s, q, limit, nil)
						if !slices.Equal(arns(got), arns(want)) {
							t.Errorf("sort %d desc %v deleted %v filters %v, pages of %d:\n got %q\nwant %q",
								key, desc, includeDeleted, filters, limit, names(got), names(want))
						}
					}
				}
			}
		}
	}
	// A cursor that is no item's position splits each order too.
	for _, key := range sortKeys {
		for _, desc := range []bool{false, true} {
			all := sortedBy(secs, key, desc)
			mid := storage.CursorAt(all[10])
			mid.ARN = ""
			if desc {
				mid.ARN = "\xff"
			}
			var want []*storage.Secret
			for _, sec := range all {
				probe := *all[10]
				probe.ARN = mid.ARN
				if compareIn(sec, &probe, key, desc) > 0 {
					want = append(want, sec)
				}
			}
			q := storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: true, SortBy: key, Desc: desc, After: mid}
			if got := page(t, s, q); !slices.Equal(arns(got), arns(want)) {
				t.Errorf("sort %d desc %v after a position between items:\n got %q\nwant %q", key, desc, names(got), names(want))
			}
		}
	}
}

// testListSecretsOrdersStable writes between the pages of every order:
// what existed throughout is listed once, in order; what was deleted is
// not listed; what was inserted after the cursor is.
func testListSecretsOrdersStable(t *testing.T, s storage.Store) {
	for _, key := range sortKeys {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("sort=%d,desc=%v", key, desc), func(t *testing.T) {
				prefix := fmt.Sprintf("st%d%v", key, desc)
				var secs []*storage.Secret
				for i := range 16 {
					sec := newSecret(acct, region, fmt.Sprintf("%s/%02d", prefix, i), "AAAAAA", base.Add(time.Duration(i)*time.Second))
					sec.LastChanged = base.Add(time.Duration(16-i) * time.Minute)
					if i%3 != 0 {
						sec.LastAccessed = base.Truncate(24*time.Hour).AddDate(0, 0, i%4)
					}
					secs = append(secs, sec)
				}
				insertSecrets(t, s, secs...)
				filters := []storage.Filter{flt(storage.FilterName, prefix+"/")}
				q := storage.SecretQuery{Account: acct, Region: region, Filters: filters, SortBy: key, Desc: desc}
				deleted := map[string]bool{}
				var inserted []*storage.Secret
				n := 0
				got := listAll(t, s, q, 3, func(_ int, c *storage.Cursor) {
					n++
					update(t, s, func(tx storage.Tx) error {
						// One secret before the cursor (never listed), one after it.
						for j, after := range []bool{false, true} {
							sec := newSecret(acct, region, fmt.Sprintf("%s/new%02d-%d", prefix, n, j), fmt.Sprintf("N%04d%d", n, j), base)
							// Move its sort key before or after the cursor.
							shift := -1
							if after != desc {
								shift = 1
							}
							switch key {
							case storage.SortCreated:
								sec.Created = c.Created.Add(time.Duration(shift) * time.Millisecond)
							case storage.SortName:
								if shift < 0 {
									sec.Name = c.Name[:len(c.Name)-1] + "!" + fmt.Sprint(n)
								} else {
									sec.Name = c.Name + "~" + fmt.Sprint(n)
								}
							case storage.SortLastChanged:
								sec.LastChanged = c.LastChanged.Add(time.Duration(shift) * time.Millisecond)
							case storage.SortLastAccessed:
								if c.LastAccessed.IsZero() {
									// Nothing sorts after the never accessed but
									// another never accessed with a larger ARN.
									if !after {
										sec.LastAccessed = base // accessed: before every never accessed
									} else if desc {
										sec.ARN = c.ARN[:len(c.ARN)-1] // sorts first: after c descending
									} else {
										sec.ARN = c.ARN + "~"
									}
								} else {
									sec.LastAccessed = c.LastAccessed.Add(time.Duration(shift) * time.Millisecond)
								}
							}
							if err := tx.InsertSecret(sec); err != nil {
								return err
							}
							if after {
								inserted = append(inserted, sec)
							}
						}
						// Delete one not listed yet.
						for _, sec := range sortedBy(secs, key, desc) {
							pos := *sec
							if !deleted[sec.ARN] && compareIn(&pos, cursorSecret(c), key, desc) > 0 {
								deleted[sec.ARN] = true
								return tx.DeleteSecret(sec.ARN)
							}
						}
						return nil
					})
				})
				var want []*storage.Secret
				for _, sec := range secs {
					if !deleted[sec.ARN] {
						want = append(want, sec)
					}
				}
				want = sortedBy(append(want, inserted...), key, desc)
				if !slices.Equal(arns(got), arns(want)) {
					t.Errorf("with writes between pages:\n got %q\nwant %q", names(got), names(want))
				}
			})
		}
	}
}

// cursorSecret is a secret at the position of c, for compareIn.
func cursorSecret(c *storage.Cursor) *storage.Secret {
	return &storage.Secret{ARN: c.ARN, Created: c.Created, Name: c.Name, LastChanged: c.LastChanged, LastAccessed: c.LastAccessed}
}

// testListSecretsFiltersRandom compares the store with the reference
// semantics on random secrets, filters and orders.
func testListSecretsFiltersRandom(t *testing.T, s storage.Store) {
	r := rand.New(rand.NewPCG(7, 11))
	vocab := []string{"prod", "Prod", "dev", "app", "App", "Beta", "db", "DB", "api", "x1", "2", "COMPANY", "things", "a", "an"}
	seps := []string{"/", "-", "_", " ", "."}
	word := func() string { return vocab[r.IntN(len(vocab))] }
	text := func(max int) string {
		n := r.IntN(max + 1)
		var b strings.Builder
		sep := seps[r.IntN(len(seps))]
		for i := range n {
			if i > 0 {
				if r.IntN(5) == 0 {
					b.WriteString(seps[r.IntN(len(seps))]) // now and then a second kind
				} else {
					b.WriteString(sep)
				}
			}
			b.WriteString(word())
		}
		return b.String()
	}
	var secs []*storage.Secret
	seen := map[string]bool{}
	for i := 0; len(secs) < 150; i++ {
		name := strings.ReplaceAll(text(3), " ", "/") + fmt.Sprint(i%7)
		if seen[name] {
			continue
		}
		seen[name] = true
		sec := newSecret(acct, region, name, fmt.Sprintf("R%05d", i), base.Add(time.Duration(r.IntN(40))*time.Second))
		sec.Description = text(4)
		sec.Tags = nil
		for range r.IntN(3) {
			sec.Tags = append(sec.Tags, storage.Tag{Key: word(), Value: text(2)})
		}
		sec.LastChanged = base.Add(time.Duration(r.IntN(20)) * time.Minute)
		if r.IntN(3) > 0 {
			sec.LastAccessed = base.Truncate(24*time.Hour).AddDate(0, 0, r.IntN(4))
		}
		if r.IntN(8) == 0 {
			sec.DeletionDate = base.Add(24 * time.Hour)
		}
		secs = append(secs, sec)
	}
	insertSecrets(t, s, secs...)
	keys := []storage.FilterKey{storage.FilterName, storage.FilterDescription, storage.FilterTagKey,
		storage.FilterTagValue, storage.FilterAll, storage.FilterAll, storage.FilterPrimaryRegion}
	value := func(key storage.FilterKey) string {
		var v string
		switch key {
		case storage.FilterName, storage.FilterTagKey, storage.FilterTagValue:
			v = word()
			v = v[:1+r.IntN(len(v))]
		default:
			v = text(2)
			if r.IntN(3) == 0 && v != "" {
				v = v[:1+r.IntN(len(v))]
			}
		}
		if r.IntN(4) == 0 {
			v = "!" + v
		}
		return v
	}
	for range 150 {
		var filters []storage.Filter
		for range 1 + r.IntN(3) {
			key := keys[r.IntN(len(keys))]
			var vals []string
			for range 1 + r.IntN(2) {
				vals = append(vals, value(key))
			}
			filters = append(filters, flt(key, vals...))
		}
		q := storage.SecretQuery{Account: acct, Region: region, IncludeDeleted: r.IntN(2) == 0,
			Filters: filters, SortBy: sortKeys[r.IntN(len(sortKeys))], Desc: r.IntN(2) == 0}
		var want []*storage.Secret
		for _, sec := range sortedBy(secs, q.SortBy, q.Desc) {
			if (q.IncludeDeleted || sec.DeletionDate.IsZero()) && storage.MatchFilters(filters, sec) {
				want = append(want, sec)
			}
		}
		got := listAll(t, s, q, 1+r.IntN(20), nil)
		if !slices.Equal(arns(got), arns(want)) {
			t.Errorf("filters %v sort %d desc %v deleted %v:\n got %q\nwant %q", filters, q.SortBy, q.Desc, q.IncludeDeleted, names(got), names(want))
		}
	}
}

// testListSecretsQueryErrors: an unknown filter or sort key is an error,
// not an empty page.
func testListSecretsQueryErrors(t *testing.T, s storage.Store) {
	insertSecrets(t, s, newSecret(acct, region, "err/one", "AAAAAA", base))
	for _, q := range []storage.SecretQuery{
		{Account: acct, Region: region, Filters: []storage.Filter{flt("size", "1")}},
		{Account: acct, Region: region, SortBy: storage.SortKey(99)},
	} {
		err := s.View(t.Context(), func(tx storage.Tx) error {
			_, err := tx.ListSecrets(q)
			return err
		})
		if err == nil {
			t.Errorf("ListSecrets(%+v): no error", q)
		}
	}
}
