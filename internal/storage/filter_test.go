package storage

import (
	"slices"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		// BEHAVIOUR.md §7.2 and the splitter cases moto checks.
		{"test", []string{"test"}},
		{"my test", []string{"my", "test"}},
		{"Mytest", []string{"Mytest"}},
		{"MyTest", []string{"My", "Test"}},
		{"MyTestPhrase", []string{"My", "Test", "Phrase"}},
		{"myTest", []string{"my", "Test"}},
		{"my/test", []string{"my", "test"}},
		{"AppBeta", []string{"App", "Beta"}},
		{"COMPANYthings", []string{"COMPAN", "Ythings"}},
		{"uat/COMPANY/x1y2", []string{"uat", "COMPANY", "x", "1", "y", "2"}},
		{"uat/COMPANYthings/abc", []string{"uat", "COMPAN", "Ythings", "abc"}},
		{"SecretFTag", []string{"Secret", "F", "Tag"}},
		{"SecretFValue", []string{"Secret", "F", "Value"}},
		{"Thirdsecret", []string{"Thirdsecret"}},
		{"DescTwo", []string{"Desc", "Two"}},
		{"one and two", []string{"one", "and", "two"}},
		{"a secret", []string{"a", "secret"}},
		{"asecret", []string{"asecret"}},
		// One kind of punctuation separates words, each kind alike.
		{"prod/AppBeta/x", []string{"prod", "App", "Beta", "x"}},
		{"prod_AppBeta_x", []string{"prod", "App", "Beta", "x"}},
		{"prod+AppBeta+x", []string{"prod", "App", "Beta", "x"}},
		{"prod=AppBeta=x", []string{"prod", "App", "Beta", "x"}},
		{"prod.AppBeta.x", []string{"prod", "App", "Beta", "x"}},
		{"prod@AppBeta@x", []string{"prod", "App", "Beta", "x"}},
		{"prod-AppBeta-x", []string{"prod", "App", "Beta", "x"}},
		// Mixed kinds: the punctuation is part of an unsplit word.
		{"prod-AppBeta/x", []string{"prod-AppBeta/x"}},
		{"MyApp for db-x/y", []string{"My", "App", "for", "db-x/y"}},
		// A separator alone has no words.
		{"+", nil},
		{"//", nil},
		{"", nil},
		{"   ", nil},
		// The user guide: letter/digit changes and other punctuation split.
		{"credsDatabase#892", []string{"creds", "Database", "892"}},
		{"abc123def", []string{"abc", "123", "def"}},
		{"v2", []string{"v", "2"}},
		{"arn:aws:kms", []string{"arn", "aws", "kms"}},
		{"ABC", []string{"ABC"}},
		{"ABCDef", []string{"ABC", "Def"}},
		{"aB", []string{"a", "B"}},
		{"Ab", []string{"Ab"}},
		{"Ünïcode Wörter", []string{"Ünïcode", "Wörter"}},
		{"straßeHaus", []string{"straße", "Haus"}},
		{"e\u0301t\u00e9Deux", []string{"e\u0301t\u00e9", "Deux"}}, // combining acute stays with its letter
	} {
		if got := Words(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestQueryWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"SecretOne", []string{"one", "secret"}},
		{"d t", []string{"d", "t"}},
		{"a ab abc b", []string{"abc", "b"}}, // "a" and "ab" are implied by "abc"
		{"one one ONE", []string{"one"}},
		{"+", nil},
		{"", nil},
	} {
		if got := QueryWords(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("QueryWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIndexWords(t *testing.T) {
	s := &Secret{Name: "prod/AppBeta", Description: "the app", Tags: []Tag{{"App", "prod"}, {"env", ""}}}
	want := []IndexWord{
		{"app", SourceName | SourceDescription | SourceTagKey},
		{"beta", SourceName},
		{"env", SourceTagKey},
		{"prod", SourceName | SourceTagValue},
		{"the", SourceDescription},
	}
	if got := IndexWords(s); !slices.Equal(got, want) {
		t.Errorf("IndexWords = %v, want %v", got, want)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abd", true},
		{"a", "b", true},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\xff", "", false},
		{"", "", false},
		{"z~", "z\x7f", true},
	} {
		got, ok := PrefixEnd(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("PrefixEnd(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if !ok {
			continue
		}
		// Every string with the prefix is in [in, end); the end is not.
		for _, s := range []string{tc.in, tc.in + "\x00", tc.in + "\xff\xff", tc.in + "zzz"} {
			if s < tc.in || s >= got {
				t.Errorf("PrefixEnd(%q): %q out of range", tc.in, s)
			}
		}
		if strings.HasPrefix(got, tc.in) {
			t.Errorf("PrefixEnd(%q) = %q has the prefix", tc.in, got)
		}
	}
}

func TestMatch(t *testing.T) {
	sec := &Secret{
		Name:        "prod/AppBeta/db",
		Description: "Password of the MAIN database",
		Tags:        []Tag{{"Environment", "Production"}, {"team", "core-infra"}},
	}
	bare := &Secret{Name: "bare"}
	pos := func(v string) FilterValue { return FilterValue{Value: v} }
	neg := func(v string) FilterValue { return FilterValue{Not: true, Value: v} }
	for _, tc := range []struct {
		f         Filter
		sec, bare bool
	}{
		{Filter{FilterName, []FilterValue{pos("prod/")}}, true, false},
		{Filter{FilterName, []FilterValue{pos("Prod/")}}, false, false}, // case-sensitive
		{Filter{FilterName, []FilterValue{pos("AppBeta")}}, false, false},
		{Filter{FilterName, []FilterValue{pos("prod/AppBeta/db")}}, true, false},
		{Filter{FilterName, []FilterValue{pos("prod/AppBeta/db ")}}, false, false},
		{Filter{FilterName, []FilterValue{neg("prod/")}}, false, true},
		{Filter{FilterName, []FilterValue{pos("x"), pos("b")}}, false, true},
		{Filter{FilterDescription, []FilterValue{pos("pass")}}, true, false},
		{Filter{FilterDescription, []FilterValue{pos("DATA main")}}, true, false},
		{Filter{FilterDescription, []FilterValue{pos("ain")}}, false, false},
		{Filter{FilterDescription, []FilterValue{pos("prod")}}, false, false}, // name words are not description words
		{Filter{FilterDescription, []FilterValue{neg("pass")}}, false, true},  // no description: no word starts with "pass"
		{Filter{FilterDescription, []FilterValue{pos("+")}}, false, false},
		{Filter{FilterDescription, []FilterValue{neg("+")}}, true, true},
		{Filter{FilterTagKey, []FilterValue{pos("Env")}}, true, false},
		{Filter{FilterTagKey, []FilterValue{pos("env")}}, false, false},
		{Filter{FilterTagKey, []FilterValue{pos("")}}, true, false},
		{Filter{FilterTagKey, []FilterValue{neg("Env")}}, false, true},
		{Filter{FilterTagValue, []FilterValue{pos("core-")}}, true, false},
		{Filter{FilterTagValue, []FilterValue{pos("infra")}}, false, false},
		{Filter{FilterPrimaryRegion, []FilterValue{pos("us-")}}, false, false},
		{Filter{FilterPrimaryRegion, []FilterValue{neg("us-")}}, true, true},
		{Filter{FilterOwningService, []FilterValue{pos("")}}, false, false},
		{Filter{FilterAll, []FilterValue{pos("beta")}}, true, false},
		{Filter{FilterAll, []FilterValue{pos("env pass core")}}, true, false}, // words from three attributes
		{Filter{FilterAll, []FilterValue{pos("infra")}}, true, false},         // "core-infra" uses one kind: core, infra
		{Filter{FilterAll, []FilterValue{pos("ord")}}, false, false},          // words start, they are not searched inside
		{Filter{FilterAll, []FilterValue{pos("bar")}}, false, true},
	} {
		if got := tc.f.Match(sec); got != tc.sec {
			t.Errorf("%v matches the secret: %v, want %v", tc.f, got, tc.sec)
		}
		if got := tc.f.Match(bare); got != tc.bare {
			t.Errorf("%v matches the bare secret: %v, want %v", tc.f, got, tc.bare)
		}
	}
}

func TestNormalizeFilters(t *testing.T) {
	pos := func(v string) FilterValue { return FilterValue{Value: v} }
	neg := func(v string) FilterValue { return FilterValue{Not: true, Value: v} }
	for _, tc := range []struct {
		name string
		in   []Filter
		out  []Filter
		none bool
	}{
		{"empty name prefix: always", []Filter{{FilterName, []FilterValue{pos(""), pos("x")}}}, nil, false},
		{"negated empty name: dropped", []Filter{{FilterName, []FilterValue{neg(""), pos("x")}}},
			[]Filter{{FilterName, []FilterValue{pos("x")}}}, false},
		{"only never", []Filter{{FilterName, []FilterValue{pos("x")}}, {FilterOwningService, []FilterValue{pos("a")}}}, nil, true},
		{"negated never", []Filter{{FilterPrimaryRegion, []FilterValue{neg("a")}}}, nil, false},
		{"wordless", []Filter{{FilterAll, []FilterValue{pos("+"), pos("a")}}}, []Filter{{FilterAll, []FilterValue{pos("a")}}}, false},
		{"negated wordless", []Filter{{FilterDescription, []FilterValue{neg("-"), pos("a")}}}, nil, false},
	} {
		out, none, err := NormalizeFilters(tc.in)
		if err != nil || none != tc.none || !slices.EqualFunc(out, tc.out, func(a, b Filter) bool {
			return a.Key == b.Key && slices.Equal(a.Values, b.Values)
		}) {
			t.Errorf("%s: NormalizeFilters = %v, %v, %v; want %v, %v", tc.name, out, none, err, tc.out, tc.none)
		}
	}
	if _, _, err := NormalizeFilters([]Filter{{"size", []FilterValue{pos("1")}}}); err == nil {
		t.Errorf("unknown key: no error")
	}
}
