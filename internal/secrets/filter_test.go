package secrets

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

// f builds a request filter; key "" stands for a missing key.
func f(key string, values ...string) Filter {
	out := Filter{Values: values}
	if key != "" {
		out.Key = &key
	}
	return out
}

type fixture struct {
	name, description string
	tags              []Tag
}

// matching returns, in fixture order, the names of the fixtures that
// satisfy filters as the domain parses them and the storage contract
// defines them.
func matching(t *testing.T, world []fixture, filters ...Filter) []string {
	t.Helper()
	fs, err := parseFilters(filters)
	if err != nil {
		t.Fatalf("parseFilters(%v): %v", filters, err)
	}
	var out []string
	for _, w := range world {
		if storage.MatchFilters(fs, &storage.Secret{Name: w.name, Description: w.description, Tags: w.tags}) {
			out = append(out, w.name)
		}
	}
	return out
}

type filterCase struct {
	filters []Filter
	want    []string
}

func runFilterCases(t *testing.T, world []fixture, cases []filterCase) {
	t.Helper()
	for _, tc := range cases {
		if got := matching(t, world, tc.filters...); !slices.Equal(got, tc.want) {
			t.Errorf("filters %s:\n got %q\nwant %q", show(tc.filters), got, tc.want)
		}
	}
}

func show(fs []Filter) string {
	s := ""
	for _, f := range fs {
		k := "<nil>"
		if f.Key != nil {
			k = *f.Key
		}
		s += fmt.Sprintf("{%s %q}", k, f.Values)
	}
	return s
}

// Recorded on AWS by LocalStack's test_list_secrets_filtering (BEHAVIOUR.md
// §7.1, §7.2): name prefixes, its negation, description word prefixes and
// their negation, AND across keys.
func TestFiltersRecordedNameAndDescription(t *testing.T) {
	const (
		one   = "testing1/one-12345"
		two   = "/testing2/two-12345"
		three = "testing3/three-12345"
		four  = "/testing4/four-12345"
	)
	world := []fixture{
		{name: one, description: "a secret"},
		{name: two, description: "an secret"},
		{name: three, description: "asecret"},
		{name: four, description: "thesecret"},
	}
	runFilterCases(t, world, []filterCase{
		{[]Filter{f("name", "/")}, []string{two, four}},
		{[]Filter{f("name", "!/")}, []string{one, three}},
		{[]Filter{f("name", "testing1 one")}, nil}, // whole-name prefix, no word splitting
		{[]Filter{f("description", "a")}, []string{one, two, three}},
		{[]Filter{f("description", "!a")}, []string{four}},
		{[]Filter{f("description", "a secret")}, []string{one, two}},
		{[]Filter{f("description", "a"), f("name", "secret")}, nil},
		{[]Filter{f("description", "a"), f("name", "an")}, nil},
		{[]Filter{f("description", "!c")}, []string{one, two, three, four}},
		{[]Filter{f("name", "testing1/one-12345")}, []string{one}},
		{[]Filter{f("name", "Testing")}, nil}, // case-sensitive
	})
}

// Recorded on AWS by moto's test_with_filter_with_value_with_multiple_words
// and test_with_duplicate_filter_keys: every value word must start some
// description word; two filters with the same key are both required.
func TestFiltersRecordedDescriptionWords(t *testing.T) {
	world := []fixture{
		{name: "foo", description: "one two"},
		{name: "bar", description: "one and two"},
		{name: "baz", description: "one"},
		{name: "qux", description: "two"},
		{name: "none", description: "unrelated"},
	}
	runFilterCases(t, world, []filterCase{
		{[]Filter{f("description", "one two")}, []string{"foo", "bar"}},
		{[]Filter{f("description", "o t")}, []string{"foo", "bar"}},
		{[]Filter{f("description", "t")}, []string{"foo", "bar", "qux"}},
		{[]Filter{f("description", "one"), f("description", "two")}, []string{"foo", "bar"}},
		{[]Filter{f("description", "ONE TWO")}, []string{"foo", "bar"}}, // case-insensitive
		// Values of one filter are alternatives; a negation among them.
		{[]Filter{f("description", "one", "!two")}, []string{"foo", "bar", "baz", "none"}},
		{[]Filter{f("description", "!o")}, []string{"qux", "none"}},
		{[]Filter{f("description", "unrelated", "qux")}, []string{"none"}},
	})
	// moto's duplicate-keys world has no "one and two".
	dup := []fixture{world[0], {name: "bar", description: "one"}, {name: "baz", description: "two"}, {name: "qux", description: "unrelated"}}
	runFilterCases(t, dup, []filterCase{
		{[]Filter{f("description", "one"), f("description", "two")}, []string{"foo"}},
	})
}

// Recorded on AWS by moto's test_with_all_filter: the all filter finds
// word prefixes in the name, the description, tag keys and tag values.
func TestFiltersRecordedAll(t *testing.T) {
	const u = "123456" // the recording's random suffix; digits split from letters
	world := []fixture{
		{name: "SecretOne" + u},
		{name: "SecretTwo" + u, description: "DescTwo"},
		{name: "Thirdsecret" + u},
		{name: "SecretFTag" + u, tags: []Tag{{Key: "1", Value: "foo"}}},
		{name: "SecretFValue" + u, tags: []Tag{{Key: "foo", Value: "v"}}},
		{name: "none" + u},
	}
	secrets := []string{"SecretOne" + u, "SecretTwo" + u, "SecretFTag" + u, "SecretFValue" + u}
	runFilterCases(t, world, []filterCase{
		{[]Filter{f("all", "SecretOne")}, []string{"SecretOne" + u}},
		{[]Filter{f("all", "foo")}, []string{"SecretFTag" + u, "SecretFValue" + u}},
		{[]Filter{f("all", "Secret")}, secrets},
		{[]Filter{f("all", "secret")}, secrets},
		{[]Filter{f("all", "ret")}, nil},
		{[]Filter{f("all", "sec")}, secrets},
		{[]Filter{f("all", "SomeSecret")}, nil},
		{[]Filter{f("all", "d")}, []string{"SecretTwo" + u}},
		{[]Filter{f("all", "d t")}, []string{"SecretTwo" + u}},
		{[]Filter{f("all", "t")}, []string{"SecretTwo" + u, "Thirdsecret" + u, "SecretFTag" + u}},
		{[]Filter{f("all", u)}, []string{"SecretOne" + u, "SecretTwo" + u, "Thirdsecret" + u, "SecretFTag" + u, "SecretFValue" + u, "none" + u}},
	})
}

// Recorded on AWS by moto's test_with_all_filter_special_characters: one
// kind of punctuation separates words; case changes split words, an
// all-caps run before lower case splits before its last capital.
func TestFiltersRecordedAllSpecialCharacters(t *testing.T) {
	const u = "9f3e1a" // the recording's random suffix (6 hex digits)
	single := []string{
		"prod/AppBeta/" + u, "prod_AppBeta_" + u, "prod+AppBeta+" + u, "prod=AppBeta=" + u,
		"prod.AppBeta." + u, "prod@AppBeta@" + u, "prod-AppBeta-" + u,
	}
	full, partial := "uat/COMPANY/"+u, "uat/COMPANYthings/"+u
	var world []fixture
	for _, n := range append(slices.Clone(single), full, partial) {
		world = append(world, fixture{name: n})
	}
	runFilterCases(t, world, []filterCase{
		{[]Filter{f("all", "AppBeta")}, single},
		{[]Filter{f("all", "Beta")}, single},
		{[]Filter{f("all", "AppBeta", "prod")}, single},
		{[]Filter{f("all", "+")}, nil},
		{[]Filter{f("all", u)}, append(slices.Clone(single), full, partial)},
		{[]Filter{f("all", "company")}, []string{full}},
		{[]Filter{f("all", "things")}, nil},
		{[]Filter{f("all", "Ythings")}, []string{partial}},
		{[]Filter{f("all", "N")}, nil},
		{[]Filter{f("all", "pany")}, nil},
		{[]Filter{f("all", "compan ythings")}, []string{partial}},
	})
	// A name mixing two kinds of punctuation is one word (coffer's reading
	// of "never found by word search"): not found by its inner words, found
	// by a prefix of the whole.
	mixed := []fixture{{name: "prod-AppBeta/" + u}}
	runFilterCases(t, mixed, []filterCase{
		{[]Filter{f("all", "AppBeta")}, nil},
		{[]Filter{f("all", "Beta")}, nil},
		{[]Filter{f("all", u)}, nil},
		{[]Filter{f("all", "prod")}, []string{"prod-AppBeta/" + u}},
		{[]Filter{f("name", "prod-App")}, []string{"prod-AppBeta/" + u}},
	})
}

// Tag filters (documented by AWS, checked by moto): a case-sensitive prefix
// of some tag key or value; several filters are all required.
func TestFiltersTags(t *testing.T) {
	world := []fixture{
		{name: "production", tags: []Tag{{Key: "Production", Value: "x"}}},
		{name: "prod1", tags: []Tag{{Key: "Prod1", Value: "y"}}},
		{name: "lower", tags: []Tag{{Key: "prod", Value: "Prod"}}},
		{name: "space", tags: []Tag{{Key: "1 Prod", Value: "z"}}},
		{name: "untagged"},
		{name: "right", tags: []Tag{{Key: "right", Value: "right"}}},
		{name: "rw", tags: []Tag{{Key: "right", Value: "wrong"}}},
		{name: "wr", tags: []Tag{{Key: "wrong", Value: "right"}}},
	}
	runFilterCases(t, world, []filterCase{
		{[]Filter{f("tag-key", "Prod")}, []string{"production", "prod1"}},
		{[]Filter{f("tag-value", "Prod")}, []string{"lower"}},
		{[]Filter{f("tag-key", "right"), f("tag-value", "right")}, []string{"right"}},
		{[]Filter{f("tag-key", "!Prod")}, []string{"lower", "space", "untagged", "right", "rw", "wr"}},
		{[]Filter{f("tag-key", "")}, []string{"production", "prod1", "lower", "space", "right", "rw", "wr"}},
		{[]Filter{f("tag-key", "!")}, []string{"untagged"}},
		{[]Filter{f("all", "prod")}, []string{"production", "prod1", "lower", "space"}},
	})
}

// Replication and managed secrets do not exist in coffer yet: their filters
// match nothing, and their negations everything.
func TestFiltersRegionAndService(t *testing.T) {
	world := []fixture{{name: "a"}, {name: "b", description: "x"}}
	runFilterCases(t, world, []filterCase{
		{[]Filter{f("primary-region", "us-east-1")}, nil},
		{[]Filter{f("owning-service", "n/a")}, nil},
		{[]Filter{f("owning-service", "")}, nil},
		{[]Filter{f("primary-region", "!us-east-1")}, []string{"a", "b"}},
		{[]Filter{f("owning-service", "!rds")}, []string{"a", "b"}},
		{[]Filter{f("primary-region", "us", "!eu")}, []string{"a", "b"}},
	})
}

func TestParseFiltersErrors(t *testing.T) {
	eleven := make([]string, 11)
	var tooMany []Filter
	for range 11 {
		tooMany = append(tooMany, f("name", "a"))
	}
	for _, tc := range []struct {
		in   []Filter
		kind Kind
		msg  string
	}{
		{[]Filter{f("", "foo")}, KindInvalidParameter, "Invalid filter key"},
		{[]Filter{f("name", "a"), f("", "foo")}, KindInvalidParameter, "Invalid filter key"},
		{[]Filter{f("description")}, KindInvalidParameter, "Invalid filter values for key: description"},
		{[]Filter{{Key: ptr("tag-key"), Values: []string{}}}, KindInvalidParameter, "Invalid filter values for key: tag-key"},
		{[]Filter{f("invalid", "foo")}, KindInvalidParameter, "Invalid filter key"},
		{[]Filter{f("name", eleven...)}, KindInvalidParameter, "You can't specify more than 10 values for key: name"},
		{tooMany, KindInvalidParameter, "You can't specify more than 10 filters."},
	} {
		_, err := parseFilters(tc.in)
		var de *Error
		if !errors.As(err, &de) || de.Kind != tc.kind || de.Message != tc.msg {
			t.Errorf("parseFilters(%s) = %v, want kind %d %q", show(tc.in), err, tc.kind, tc.msg)
		}
	}
	got, err := parseFilters([]Filter{f("name", "!/", "a", "!"), f("all", "!!x")})
	want := []storage.Filter{
		{Key: storage.FilterName, Values: []storage.FilterValue{{Not: true, Value: "/"}, {Value: "a"}, {Not: true}}},
		{Key: storage.FilterAll, Values: []storage.FilterValue{{Not: true, Value: "!x"}}},
	}
	if err != nil || !slices.EqualFunc(got, want, func(a, b storage.Filter) bool {
		return a.Key == b.Key && slices.Equal(a.Values, b.Values)
	}) {
		t.Errorf("parseFilters = %v, %v; want %v", got, err, want)
	}
}

func TestParseSort(t *testing.T) {
	for _, tc := range []struct {
		by, order *string
		key       storage.SortKey
		desc      bool
	}{
		{nil, nil, storage.SortCreated, false},
		{ptr("created-date"), ptr("desc"), storage.SortCreated, true},
		{ptr("name"), ptr("asc"), storage.SortName, false},
		{ptr("last-changed-date"), nil, storage.SortLastChanged, false},
		{ptr("last-accessed-date"), ptr("desc"), storage.SortLastAccessed, true},
	} {
		key, desc, err := parseSort(tc.by, tc.order)
		if err != nil || key != tc.key || desc != tc.desc {
			t.Errorf("parseSort(%v, %v) = %v, %v, %v", tc.by, tc.order, key, desc, err)
		}
	}
	for _, tc := range [][2]*string{{ptr("size"), nil}, {nil, ptr("up")}} {
		if _, _, err := parseSort(tc[0], tc[1]); err == nil {
			t.Errorf("parseSort(%v, %v): no error", tc[0], tc[1])
		}
	}
}

func ptr[T any](v T) *T { return &v }

// listPage against a real store: filters, every order, tokens.
func TestListPage(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "coffer.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := New(Config{Store: db})
	c := SystemCaller("aws", "123456789012", "us-east-1")
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var all []*storage.Secret
	for i := range 12 {
		name := fmt.Sprintf("app%d/db-%02d", i%3, (i*7)%12)
		sec := &storage.Secret{
			ARN: s.arnPrefix(c.Region, c.Account) + name + "-AbCdEf", Account: c.Account, Region: c.Region,
			Name: name, Description: fmt.Sprintf("Database %d", i), Created: base.Add(time.Duration(i) * time.Second),
			LastChanged: base.Add(time.Duration(12-i) * time.Minute),
		}
		if i%4 != 0 {
			sec.LastAccessed = midnight(base.Add(time.Duration(i%3) * 24 * time.Hour))
		}
		if i%2 == 0 {
			sec.Tags = []Tag{{Key: "env", Value: "prod"}}
		}
		all = append(all, sec)
	}
	err = db.Update(t.Context(), func(tx storage.Tx) error {
		for _, sec := range all {
			if err := tx.InsertSecret(sec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	pages := func(r listRequest) ([]string, error) {
		var names []string
		for n := 0; ; n++ {
			page, next, err := s.listPage(context.Background(), c, "test", r)
			if err != nil {
				return nil, err
			}
			if len(page) > r.Limit || (next != "" && len(page) != r.Limit) {
				t.Errorf("page of %d with token %q, limit %d", len(page), next, r.Limit)
			}
			for _, sec := range page {
				names = append(names, sec.Name)
			}
			if next == "" || n > 50 {
				return names, nil
			}
			r.NextToken = next
		}
	}
	for _, by := range []string{"", SortByCreatedDate, SortByName, SortByLastChangedDate, SortByLastAccessedDate} {
		for _, order := range []string{"", SortOrderAsc, SortOrderDesc} {
			for _, filters := range [][]Filter{nil, {f("tag-key", "env")}, {f("all", "app1", "app2"), f("description", "!database 1")}} {
				r := listRequest{Filters: filters, Limit: 2}
				if by != "" {
					r.SortBy = &by
				}
				if order != "" {
					r.SortOrder = &order
				}
				got, err := pages(r)
				if err != nil {
					t.Fatalf("%q %q %s: %v", by, order, show(filters), err)
				}
				fs, _ := parseFilters(filters)
				key, desc, _ := parseSort(r.SortBy, r.SortOrder)
				var want []string
				for _, sec := range sortedSecrets(all, key, desc) {
					if storage.MatchFilters(fs, sec) {
						want = append(want, sec.Name)
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("sort %q %q, filters %s:\n got %q\nwant %q", by, order, show(filters), got, want)
				}
			}
		}
	}

	// A token is bound to its order and its caller.
	_, next, err := s.listPage(t.Context(), c, "test", listRequest{Limit: 1, SortBy: ptr(SortByName)})
	if err != nil || next == "" {
		t.Fatalf("first page: %q, %v", next, err)
	}
	for _, tc := range []struct {
		what string
		c    Caller
		r    listRequest
	}{
		{"other order", c, listRequest{Limit: 1, NextToken: next}},
		{"other direction", c, listRequest{Limit: 1, NextToken: next, SortBy: ptr(SortByName), SortOrder: ptr("desc")}},
		{"other region", SystemCaller("aws", c.Account, "eu-west-1"), listRequest{Limit: 1, NextToken: next, SortBy: ptr(SortByName)}},
		{"garbage", c, listRequest{Limit: 1, NextToken: "!!!"}},
		{"not JSON", c, listRequest{Limit: 1, NextToken: "bm90IGpzb24"}},
	} {
		_, _, err := s.listPage(t.Context(), tc.c, "test", tc.r)
		var de *Error
		if !errors.As(err, &de) || de.Kind != KindInvalidNextToken {
			t.Errorf("%s: %v, want InvalidNextTokenException", tc.what, err)
		}
	}
	// Filter errors come before token errors.
	_, _, err = s.listPage(t.Context(), c, "test", listRequest{Limit: 1, NextToken: "!!!", Filters: []Filter{f("", "x")}})
	var de *Error
	if !errors.As(err, &de) || de.Kind != KindInvalidParameter {
		t.Errorf("bad filter and bad token: %v", err)
	}
}

// sortedSecrets orders secs as the storage contract says for key and desc.
func sortedSecrets(secs []*storage.Secret, key storage.SortKey, desc bool) []*storage.Secret {
	out := slices.Clone(secs)
	slices.SortFunc(out, func(a, b *storage.Secret) int {
		var c int
		switch key {
		case storage.SortCreated:
			c = a.Created.Compare(b.Created)
		case storage.SortName:
			c = compareStrings(a.Name, b.Name)
		case storage.SortLastChanged:
			c = a.LastChanged.Compare(b.LastChanged)
		case storage.SortLastAccessed:
			switch za, zb := a.LastAccessed.IsZero(), b.LastAccessed.IsZero(); {
			case za && !zb:
				return 1 // never accessed: last in both directions
			case !za && zb:
				return -1
			}
			c = a.LastAccessed.Compare(b.LastAccessed)
		}
		if c == 0 {
			c = compareStrings(a.ARN, b.ARN)
		}
		if desc {
			c = -c
		}
		return c
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
