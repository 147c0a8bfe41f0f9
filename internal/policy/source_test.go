package policy

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// recordingSource is a Context source over a map (lower-cased keys) that
// records which keys it was asked for.
type recordingSource struct {
	keys  map[string][]string
	asked []string
}

func (s *recordingSource) get(k string) ([]string, bool) {
	s.asked = append(s.asked, k)
	v, ok := s.keys[k]
	return v, ok
}

func withSource(keys map[string][]string) (*Context, *recordingSource) {
	src := &recordingSource{keys: keys}
	c := &Context{}
	c.SetSource(src.get)
	return c, src
}

func TestSetSourceConditionsAndVariables(t *testing.T) {
	p := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"secretsmanager:GetSecretValue",
		 "Resource":"arn:aws:secretsmanager:us-east-1:`+acctA+`:secret:app/${aws:username}-*",
		 "Condition":{"StringEquals":{"AWS:PrincipalTag/Team":"red"},"Bool":{"aws:SecureTransport":"true"}}}]}`)
	req := func(c *Context) *Request {
		return &Request{Principal: alice, Action: "secretsmanager:GetSecretValue",
			Resource: "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/alice-AbCdEf", Context: c, Now: time.Now()}
	}

	c, src := withSource(map[string][]string{
		"aws:username": {"alice"}, "aws:principaltag/team": {"red"}, "aws:securetransport": {"true"},
		"aws:sourceip": {"10.0.0.1"}, // not referenced: must not be asked for
	})
	if d, m := p.Evaluate(req(c)); d != Allow || len(m) != 1 {
		t.Fatalf("keys from the source: Evaluate = %v %+v, want Allow", d, m)
	}
	sort.Strings(src.asked)
	if got, want := strings.Join(src.asked, ","), "aws:principaltag/team,aws:securetransport,aws:username"; got != want {
		t.Fatalf("source asked for %q, want each referenced key once, lower-cased: %q", got, want)
	}

	// The same through Authorize.
	if r := Authorize(&Input{Request: req(c), Identity: []*Policy{p}}); !r.Allowed {
		t.Fatalf("Authorize with keys from the source = %+v", r)
	}

	// A variable whose key the source lacks makes the entry not match.
	c, _ = withSource(map[string][]string{"aws:principaltag/team": {"red"}, "aws:securetransport": {"true"}})
	if d, _ := p.Evaluate(req(c)); d != NotApplicable {
		t.Fatalf("variable key absent from the source: Evaluate = %v", d)
	}
	// A condition value the source gives differently makes it fail.
	c, _ = withSource(map[string][]string{"aws:username": {"alice"}, "aws:principaltag/team": {"blue"}, "aws:securetransport": {"true"}})
	if d, _ := p.Evaluate(req(c)); d != NotApplicable {
		t.Fatalf("condition key from the source mismatching: Evaluate = %v", d)
	}

	// Explicit keys override the source, for conditions and variables.
	c, src = withSource(map[string][]string{"aws:username": {"bob"}, "aws:principaltag/team": {"blue"}, "aws:securetransport": {"true"}})
	c.Set("aws:PrincipalTag/team", "red")
	c.Set("aws:username", "alice")
	if d, _ := p.Evaluate(req(c)); d != Allow {
		t.Fatalf("explicit keys over the source: Evaluate = %v, want Allow", d)
	}
	for _, k := range src.asked {
		if k != "aws:securetransport" {
			t.Fatalf("source asked for %q, which is Set explicitly", k)
		}
	}
	c.Set("aws:username", "bob")
	if d, _ := p.Evaluate(req(c)); d != NotApplicable {
		t.Fatalf("explicit username bob over the source: Evaluate = %v", d)
	}

	// Removing the source.
	c, _ = withSource(map[string][]string{"aws:username": {"alice"}, "aws:principaltag/team": {"red"}, "aws:securetransport": {"true"}})
	c.SetSource(nil)
	if d, _ := p.Evaluate(req(c)); d != NotApplicable {
		t.Fatalf("after SetSource(nil): Evaluate = %v", d)
	}
}

func TestSetSourceDefaultsNullAndTime(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		cond string
		keys map[string][]string
		want bool
	}{
		{`{"Null":{"aws:PrincipalTag/team":"true"}}`, nil, true},
		{`{"Null":{"aws:PrincipalTag/team":"true"}}`, map[string][]string{"aws:principaltag/team": {"x"}}, false},
		{`{"Null":{"aws:PrincipalTag/team":"false"}}`, map[string][]string{"aws:principaltag/team": {"x"}}, true},
		{`{"StringEquals":{"aws:username":"${aws:PrincipalTag/team, 'alice'}"}}`, map[string][]string{"aws:username": {"alice"}}, true},
		{`{"StringEquals":{"aws:username":"${aws:PrincipalTag/team, 'alice'}"}}`, map[string][]string{"aws:username": {"alice"}, "aws:principaltag/team": {"red"}}, false},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, map[string][]string{"aws:tagkeys": {"env", "team"}}, true},
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, map[string][]string{"aws:tagkeys": {}}, false},
		// aws:CurrentTime / aws:EpochTime from the source win over Request.Now, as if Set.
		{`{"DateLessThan":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}}`, nil, false},
		{`{"DateLessThan":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}}`, map[string][]string{"aws:currenttime": {"2023-06-01T00:00:00Z"}}, true},
		{`{"NumericLessThan":{"aws:EpochTime":"1700000000"}}`, map[string][]string{"aws:epochtime": {"1600000000"}}, true},
		{`{"NumericLessThan":{"aws:EpochTime":"1700000000"}}`, nil, false},
		// aws:PrincipalArn: the source's value over the principal's.
		{`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`, map[string][]string{"aws:principalarn": {"arn:aws:iam::" + acctA + ":role/R"}}, true},
		{`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`, nil, false},
	}
	for i, c := range cases {
		p := condPolicy(t, c.cond)
		ctx, _ := withSource(c.keys)
		r := &Request{Principal: alice, Action: "secretsmanager:GetSecretValue", Resource: secretA, Context: ctx, Now: now}
		d, _ := p.Evaluate(r)
		// The same keys Set explicitly must decide the same.
		set := &Context{}
		for k, v := range c.keys {
			set.Set(k, v...)
		}
		r2 := *r
		r2.Context = set
		d2, _ := p.Evaluate(&r2)
		if got := d == Allow; got != c.want || d != d2 {
			t.Errorf("case %d %s: from the source %v, Set %v; want applies = %v", i, c.cond, d, d2, c.want)
		}
	}
}

func TestContextGetConsultsSource(t *testing.T) {
	c, src := withSource(map[string][]string{"aws:principaltag/team": {"red"}})
	c.Set("aws:username", "alice")
	if v, ok := c.Get("AWS:PrincipalTag/Team"); !ok || len(v) != 1 || v[0] != "red" {
		t.Fatalf("Get from the source = %v %v", v, ok)
	}
	if len(src.asked) != 1 || src.asked[0] != "aws:principaltag/team" {
		t.Fatalf("source asked for %q, want the lower-cased key", src.asked)
	}
	if v, ok := c.Get("aws:USERNAME"); !ok || v[0] != "alice" || len(src.asked) != 1 {
		t.Fatalf("Get of an explicit key = %v %v (source asked %q)", v, ok, src.asked)
	}
	if _, ok := c.Get("aws:sourceip"); ok {
		t.Fatal("Get of a key neither Set nor in the source is present")
	}
	c.Set("aws:PrincipalTag/team", "blue")
	if v, _ := c.Get("aws:principaltag/team"); v[0] != "blue" {
		t.Fatalf("Set did not override the source: %v", v)
	}
}

func TestContextSetCopiesAndIsolates(t *testing.T) {
	var c Context
	vals := []string{"a", "b"}
	c.Set("k1", vals...)
	c.Set("k2", "c")
	vals[0] = "changed"
	if v, _ := c.Get("k1"); strings.Join(v, ",") != "a,b" {
		t.Fatalf("Set did not copy its values: %v", v)
	}
	// Appending to one key's values (Add, or a caller of Get) must not
	// overwrite the next key's.
	c.Add("k1", "x")
	got, _ := c.Get("k1")
	_ = append(got, "y")
	if v, _ := c.Get("k2"); len(v) != 1 || v[0] != "c" {
		t.Fatalf("k2 = %v after appending to k1", v)
	}
	if v, _ := c.Get("k1"); strings.Join(v, ",") != "a,b,x" {
		t.Fatalf("k1 = %v", v)
	}
	c.Set("k3")
	if v, ok := c.Get("k3"); !ok || len(v) != 0 {
		t.Fatalf("Set with no values = %v %v, want present and empty", v, ok)
	}
}

func TestContextSetAllocations(t *testing.T) {
	keys := make([]string, 15)
	for i := range keys {
		keys[i] = fmt.Sprintf("aws:key%d", i)
	}
	allocs := testing.AllocsPerRun(50, func() {
		var c Context
		for _, k := range keys {
			c.Set(k, "value")
		}
	})
	// keys, values, and one backing array for the values
	if allocs > 3 {
		t.Fatalf("15 Sets of lower-case keys took %v allocations, want at most 3", allocs)
	}
}
