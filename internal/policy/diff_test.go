package policy

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

var (
	vPrincipals = []Principal{
		{ARN: "arn:aws:iam::" + acctA + ":user/alice", Account: acctA},
		{ARN: "arn:aws:iam::" + acctB + ":user/bob", Account: acctB},
		{ARN: "arn:aws:sts::" + acctA + ":assumed-role/R/s1", Account: acctA, RoleARN: "arn:aws:iam::" + acctA + ":role/R"},
		{ARN: "arn:aws:sts::" + acctB + ":assumed-role/R/s2", Account: acctB, RoleARN: "arn:aws:iam::" + acctB + ":role/R"},
		{ARN: "arn:aws:iam::" + acctA + ":root", Account: acctA},
	}
	vPrincipalRefs = []string{
		"*", acctA, acctB, "arn:aws:iam::" + acctA + ":root", "arn:aws:iam::" + acctB + ":root",
		"arn:aws:iam::" + acctA + ":user/alice", "arn:aws:iam::" + acctB + ":user/bob",
		"arn:aws:iam::" + acctA + ":role/R", "arn:aws:iam::" + acctB + ":role/R",
		"arn:aws:sts::" + acctA + ":assumed-role/R/s1", "arn:aws:sts::" + acctB + ":assumed-role/R/s2",
	}
	vActions    = []string{"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecrets", "SecretsManager:GETSECRETVALUE"}
	vActionPats = []string{"*", "secretsmanager:*", "secretsmanager:Get*", "secretsmanager:GetSecretValue",
		"SecretsManager:getsecretvalue", "secretsmanager:?utSecretValue", "secretsmanager:Describe*", "secretsmanager:*Secret*", "kms:Decrypt"}
	vResources = []string{
		"arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:db-AbCdEf",
		"arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/alice-XyZ123",
		"arn:aws:secretsmanager:us-east-1:" + acctB + ":secret:db-AbCdEf",
		"*",
	}
	vResourcePats = []string{"*",
		"arn:aws:secretsmanager:*:" + acctA + ":secret:*",
		"arn:aws:secretsmanager:us-east-1:*:secret:db-??????",
		"arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/${aws:username}-*",
		"arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/${aws:PrincipalTag/team, 'alice'}-*",
		"arn:aws:secretsmanager:*:*:secret:*",
		"arn:aws:secretsmanager:us-east-1:" + acctB + ":secret:db-AbCdEf",
		"arn:aws:secretsmanager:us*:*",
		"arn:aws:*",
		"arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:db*",
	}
	vNows = []time.Time{time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), {}}
)

type condGen struct {
	key    string
	ops    []string
	values []string
	ctx    [][]string // possible context values (nil entry: absent)
}

var vConds = []condGen{
	{"aws:username", []string{"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"},
		[]string{"alice", "bob", "ALICE", "a*", "${aws:PrincipalTag/team}", "${aws:PrincipalTag/team, 'alice'}"}, [][]string{nil, {"alice"}, {"bob"}, {"Alice"}}},
	{"aws:PrincipalTag/team", []string{"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"},
		[]string{"red", "blue", "r*", "alice"}, [][]string{nil, {"red"}, {"blue"}, {"alice"}}},
	{"aws:TagKeys", []string{"ForAllValues:StringEquals", "ForAnyValue:StringEquals", "ForAllValues:StringNotEquals", "ForAnyValue:StringNotLike", "ForAnyValue:StringLikeIfExists", "StringEquals"},
		[]string{"env", "team", "t*"}, [][]string{nil, {}, {"env"}, {"env", "team"}, {"owner"}}},
	{"aws:SourceIp", []string{"IpAddress", "NotIpAddress", "IpAddressIfExists", "NotIpAddressIfExists"},
		[]string{"10.0.0.0/8", "192.168.1.1", "2001:db8::/32", "bogus"}, [][]string{nil, {"10.1.2.3"}, {"192.168.1.1"}, {"2001:db8::5"}, {"nonsense"}}},
	{"aws:SecureTransport", []string{"Bool", "BoolIfExists", "Null"},
		[]string{"true", "false"}, [][]string{nil, {"true"}, {"false"}, {"TRUE"}}},
	{"secretsmanager:RecoveryWindowInDays", []string{"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "NumericLessThanIfExists"},
		[]string{"7", "30", "7.5", "x"}, [][]string{nil, {"7"}, {"30"}, {"10"}, {"abc"}}},
	{"aws:CurrentTime", []string{"DateLessThan", "DateGreaterThan", "DateEquals", "DateNotEquals", "DateLessThanEquals", "DateGreaterThanEquals"},
		[]string{"2024-06-01T12:00:00Z", "2024-12-31T23:59:59Z", "1717243200"}, [][]string{nil, {"2024-06-01T12:00:00Z"}}},
	{"aws:EpochTime", []string{"NumericLessThan", "NumericGreaterThanEquals", "DateGreaterThan"},
		[]string{"1717243200", "1735689600"}, [][]string{nil}},
	{"aws:PrincipalAccount", []string{"StringEquals", "StringNotEquals"},
		[]string{acctA, acctB}, [][]string{nil}},
	{"aws:PrincipalArn", []string{"ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals", "ArnLikeIfExists"},
		[]string{"arn:aws:iam::" + acctA + ":role/*", "arn:aws:iam::*:user/alice", "arn:aws:iam::" + acctB + ":*"}, [][]string{nil}},
	{"secretsmanager:ResourceTag/env", []string{"StringEquals", "StringEqualsIfExists", "StringNotEqualsIfExists", "Null"},
		[]string{"prod", "dev", "true", "false"}, [][]string{nil, {"prod"}, {"dev"}}},
	{"aws:RequestTag/blob", []string{"BinaryEquals"},
		[]string{"aGVsbG8=", "d29ybGQ="}, [][]string{nil, {"aGVsbG8="}, {"!!"}}},
}

func pick[T any](rng *rand.Rand, l []T) T { return l[rng.Intn(len(l))] }

func genStmt(rng *rand.Rand, withPrincipal bool, sid int) gStmt {
	s := gStmt{Effect: "Allow"}
	if rng.Intn(4) == 0 {
		s.Effect = "Deny"
	}
	if rng.Intn(3) == 0 {
		s.Sid = fmt.Sprintf("S%d", sid)
	}
	if withPrincipal {
		n := 1 + rng.Intn(2)
		for i := 0; i < n; i++ {
			s.Principal = append(s.Principal, pick(rng, vPrincipalRefs))
		}
		if slices.Contains(s.Principal, "*") {
			s.Principal = []string{"*"}
		}
		s.NotPrincipal = rng.Intn(8) == 0
	}
	for i, n := 0, 1+rng.Intn(2); i < n; i++ {
		s.Actions = append(s.Actions, pick(rng, vActionPats))
	}
	s.NotAction = rng.Intn(8) == 0
	if !withPrincipal || rng.Intn(2) == 0 {
		for i, n := 0, 1+rng.Intn(2); i < n; i++ {
			s.Resources = append(s.Resources, pick(rng, vResourcePats))
		}
		s.NotResource = rng.Intn(8) == 0
	}
	used := map[string]bool{}
	for i, n := 0, rng.Intn(3); i < n; i++ {
		g := pick(rng, vConds)
		op := pick(rng, g.ops)
		if used[op+g.key] {
			continue
		}
		used[op+g.key] = true
		var vals []string
		if strings.HasPrefix(op, "Null") {
			vals = []string{pick(rng, []string{"true", "false"})}
		} else {
			for j, m := 0, 1+rng.Intn(2); j < m; j++ {
				vals = append(vals, pick(rng, g.values))
			}
		}
		s.Conds = append(s.Conds, gCond{Op: op, Key: g.key, Values: vals})
	}
	return s
}

func genPolicy(rng *rand.Rand, name string, withPrincipal bool, maxStmts int) *gPolicy {
	p := &gPolicy{Name: name, Version: "2012-10-17"}
	if rng.Intn(10) == 0 {
		p.Version = pick(rng, []string{"", "2008-10-17"})
	}
	for i, n := 0, 1+rng.Intn(maxStmts); i < n; i++ {
		p.Stmts = append(p.Stmts, genStmt(rng, withPrincipal, i))
	}
	return p
}

type diffCase struct {
	ref refInput
	in  Input
}

func mustParse(t testing.TB, g *gPolicy, kind Kind) *Policy {
	t.Helper()
	p, err := Parse(g.Name, g.JSON(), kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", g.JSON(), err)
	}
	return p
}

// pool holds pre-parsed random policies, so that cases (which combine
// them at random) do not spend the test's time in Parse.
type pool struct {
	identity, session, resource []pooled
}

type pooled struct {
	g *gPolicy
	p *Policy
}

func newPool(t testing.TB, rng *rand.Rand, n int) *pool {
	pl := &pool{}
	for i := 0; i < n; i++ {
		g := genPolicy(rng, fmt.Sprintf("id%d", i), false, 4)
		pl.identity = append(pl.identity, pooled{g, mustParse(t, g, Identity)})
		g = genPolicy(rng, "session", false, 3)
		pl.session = append(pl.session, pooled{g, mustParse(t, g, Session)})
		g = genPolicy(rng, "resource-policy", true, 4)
		pl.resource = append(pl.resource, pooled{g, mustParse(t, g, Resource)})
	}
	return pl
}

func genCase(t testing.TB, rng *rand.Rand, pl *pool) diffCase {
	pr := pick(rng, vPrincipals)
	req := &Request{Principal: pr, Action: pick(rng, vActions), Resource: pick(rng, vResources), Now: pick(rng, vNows), Context: &Context{}}
	// Half of the cases supply some keys through the Context's source,
	// which answers a decoy for the keys Set explicitly (they must win).
	var lazy map[string][]string
	if rng.Intn(2) == 0 {
		lazy = map[string][]string{}
	}
	for _, g := range vConds {
		if v := pick(rng, g.ctx); v != nil {
			if lazy != nil && rng.Intn(2) == 0 {
				lazy[strings.ToLower(g.key)] = v
			} else {
				req.Context.Set(g.key, v...)
			}
		}
	}
	if lazy != nil {
		ctx := req.Context
		req.Context.SetSource(func(k string) ([]string, bool) {
			if k != strings.ToLower(k) {
				panic("source asked for a key not lower-cased: " + k)
			}
			if _, ok := ctx.explicit(k); ok {
				return []string{"decoy"}, true
			}
			v, ok := lazy[k]
			return v, ok
		})
	}
	var c diffCase
	c.ref.req, c.ref.lazy = req, lazy
	for i, n := 0, rng.Intn(4); i < n; i++ {
		e := pick(rng, pl.identity)
		c.ref.identity = append(c.ref.identity, e.g)
		c.in.Identity = append(c.in.Identity, e.p)
	}
	if pr.RoleARN != "" && rng.Intn(2) == 0 {
		e := pick(rng, pl.session)
		c.ref.session, c.in.Session = e.g, e.p
	}
	if rng.Intn(4) != 0 {
		e := pick(rng, pl.resource)
		c.ref.resource, c.in.Resource = e.g, e.p
	}
	if parts := strings.Split(req.Resource, ":"); len(parts) >= 6 {
		c.ref.resourceAccount = parts[4]
	}
	c.ref.root = strings.HasSuffix(pr.ARN, ":root")
	c.in.Request, c.in.ResourceAccount, c.in.Root = req, c.ref.resourceAccount, c.ref.root
	return c
}

func (c *diffCase) String() string {
	var b strings.Builder
	r := c.ref.req
	fmt.Fprintf(&b, "principal=%+v root=%v\naction=%s resource=%s resourceAccount=%q now=%v\ncontext:", r.Principal, c.ref.root, r.Action, r.Resource, c.ref.resourceAccount, r.Now)
	for _, e := range r.Context.entries {
		fmt.Fprintf(&b, " %s=%q", e.key, e.values)
	}
	if c.ref.lazy != nil {
		fmt.Fprintf(&b, "\nfrom the source: %q", c.ref.lazy)
	}
	for _, p := range c.ref.identity {
		fmt.Fprintf(&b, "\nidentity %s: %s", p.Name, p.JSON())
	}
	if c.ref.session != nil {
		fmt.Fprintf(&b, "\nsession: %s", c.ref.session.JSON())
	}
	if c.ref.resource != nil {
		fmt.Fprintf(&b, "\nresource: %s", c.ref.resource.JSON())
	}
	return b.String()
}

func TestDifferential(t *testing.T) {
	rng := rand.New(rand.NewSource(20240601))
	const n = 60000
	pl := newPool(t, rng, 3000)
	allowed := 0
	for i := 0; i < n; i++ {
		c := genCase(t, rng, pl)
		got := Authorize(&c.in)
		wantOK, wantReason := refAuthorize(c.ref)
		if got.Allowed != wantOK || got.Reason != wantReason {
			t.Fatalf("case %d: Authorize = (%v, %v), reference = (%v, %v)\n%s", i, got.Allowed, got.Reason, wantOK, wantReason, c.String())
		}
		if got.Allowed {
			allowed++
			if len(got.Matched) == 0 && !c.in.Root {
				t.Fatalf("case %d: allowed without a matched statement\n%s", i, c.String())
			}
		}
	}
	// The vocabulary must make both answers common, or the test proves little.
	if allowed < n/10 || allowed > n*9/10 {
		t.Fatalf("allowed %d of %d cases: vocabulary too skewed", allowed, n)
	}
	t.Logf("%d of %d cases allowed", allowed, n)
}
