package policy

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

const secretA = "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:db-AbCdEf"

var (
	alice   = Principal{ARN: "arn:aws:iam::" + acctA + ":user/alice", Account: acctA}
	bob     = Principal{ARN: "arn:aws:iam::" + acctB + ":user/bob", Account: acctB}
	session = Principal{ARN: "arn:aws:sts::" + acctA + ":assumed-role/R/s1", Account: acctA, RoleARN: "arn:aws:iam::" + acctA + ":role/R"}
	rootA   = Principal{ARN: "arn:aws:iam::" + acctA + ":root", Account: acctA}
)

func parseOrDie(t testing.TB, kind Kind, doc string) *Policy {
	t.Helper()
	p, err := Parse("p", doc, kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

// condPolicy is an identity policy allowing GetSecretValue under one
// condition block.
func condPolicy(t testing.TB, cond string) *Policy {
	return parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":`+cond+`}}`)
}

func ctxOf(kv ...any) *Context {
	c := &Context{}
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case string:
			c.Set(kv[i].(string), v)
		case []string:
			c.Set(kv[i].(string), v...)
		}
	}
	return c
}

func TestConditionOperators(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		cond string
		ctx  *Context
		want bool
	}{
		// strings
		{`{"StringEquals":{"aws:username":"alice"}}`, ctxOf("aws:username", "alice"), true},
		{`{"StringEquals":{"aws:username":"alice"}}`, ctxOf("aws:username", "Alice"), false},
		{`{"StringEquals":{"aws:username":["bob","alice"]}}`, ctxOf("aws:username", "alice"), true},
		{`{"StringEquals":{"aws:username":"alice"}}`, ctxOf(), false},
		{`{"StringEquals":{"AWS:UserName":"alice"}}`, ctxOf("aws:USERNAME", "alice"), true},
		{`{"StringEquals":{"aws:username":"a*"}}`, ctxOf("aws:username", "a*"), true},
		{`{"StringEquals":{"aws:username":"a*"}}`, ctxOf("aws:username", "ab"), false},
		{`{"StringNotEquals":{"aws:username":["bob","carol"]}}`, ctxOf("aws:username", "alice"), true},
		{`{"StringNotEquals":{"aws:username":["bob","alice"]}}`, ctxOf("aws:username", "alice"), false},
		{`{"StringNotEquals":{"aws:username":"bob"}}`, ctxOf(), true},
		{`{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}`, ctxOf("aws:username", "alice"), true},
		{`{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}`, ctxOf("aws:username", "alice"), false},
		{`{"StringLike":{"aws:username":"al?c*"}}`, ctxOf("aws:username", "alice"), true},
		{`{"StringLike":{"aws:username":"al?c"}}`, ctxOf("aws:username", "alice"), false},
		{`{"StringNotLike":{"aws:username":"b*"}}`, ctxOf("aws:username", "alice"), true},
		{`{"StringNotLike":{"aws:username":"b*"}}`, ctxOf(), true},
		{`{"StringEqualsIfExists":{"aws:username":"bob"}}`, ctxOf(), true},
		{`{"StringEqualsIfExists":{"aws:username":"bob"}}`, ctxOf("aws:username", "alice"), false},
		// sets
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctxOf("aws:TagKeys", []string{"env", "team"}), true},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}`, ctxOf("aws:TagKeys", []string{"env", "team"}), false},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}`, ctxOf(), true},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}`, ctxOf("aws:TagKeys", []string{}), true},
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, ctxOf("aws:TagKeys", []string{"x", "env"}), true},
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, ctxOf(), false},
		{`{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["env"]}}`, ctxOf(), true},
		{`{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, ctxOf("aws:TagKeys", []string{"env", "team"}), true},
		{`{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, ctxOf("aws:TagKeys", []string{"env", "secret"}), false},
		{`{"ForAnyValue:StringNotLike":{"aws:TagKeys":["e*"]}}`, ctxOf("aws:TagKeys", []string{"env", "team"}), true},
		{`{"ForAnyValue:StringNotLike":{"aws:TagKeys":["e*"]}}`, ctxOf("aws:TagKeys", []string{"env"}), false},
		// numbers
		{`{"NumericLessThan":{"n":"10"}}`, ctxOf("n", "7"), true},
		{`{"NumericLessThan":{"n":10}}`, ctxOf("n", "10"), false},
		{`{"NumericLessThanEquals":{"n":"10"}}`, ctxOf("n", "10"), true},
		{`{"NumericGreaterThan":{"n":"7.5"}}`, ctxOf("n", "8"), true},
		{`{"NumericGreaterThanEquals":{"n":"8"}}`, ctxOf("n", "7.99"), false},
		{`{"NumericEquals":{"n":"30"}}`, ctxOf("n", "30.0"), true},
		{`{"NumericNotEquals":{"n":"30"}}`, ctxOf("n", "7"), true},
		{`{"NumericEquals":{"n":"30"}}`, ctxOf("n", "thirty"), false},
		{`{"NumericLessThanIfExists":{"n":"10"}}`, ctxOf(), true},
		// dates
		{`{"DateLessThan":{"aws:CurrentTime":"2024-12-31T23:59:59Z"}}`, nil, true},
		{`{"DateGreaterThan":{"aws:CurrentTime":"2024-12-31T23:59:59Z"}}`, nil, false},
		{`{"DateEquals":{"aws:CurrentTime":"1717243200"}}`, nil, true},
		{`{"DateNotEquals":{"aws:CurrentTime":"2024-06-01T12:00:00Z"}}`, nil, false},
		{`{"DateGreaterThanEquals":{"aws:CurrentTime":"2024-06-01T14:00:00+02:00"}}`, nil, true},
		{`{"DateLessThanEquals":{"aws:CurrentTime":"2024-06-01"}}`, nil, false},
		{`{"DateLessThan":{"aws:TokenIssueTime":"2024-01-01T00:00:00Z"}}`, ctxOf("aws:TokenIssueTime", "2023-12-31T00:00:00.5Z"), true},
		{`{"DateLessThan":{"aws:TokenIssueTime":"2024-01-01T00:00:00Z"}}`, ctxOf("aws:TokenIssueTime", "yesterday"), false},
		{`{"NumericGreaterThan":{"aws:EpochTime":"1717243199"}}`, nil, true},
		// bool, binary, null
		{`{"Bool":{"aws:SecureTransport":"true"}}`, ctxOf("aws:SecureTransport", "TRUE"), true},
		{`{"Bool":{"aws:SecureTransport":false}}`, ctxOf("aws:SecureTransport", "true"), false},
		{`{"Bool":{"aws:SecureTransport":"true"}}`, ctxOf(), false},
		{`{"BoolIfExists":{"aws:SecureTransport":"true"}}`, ctxOf(), true},
		{`{"BinaryEquals":{"k":"aGVsbG8="}}`, ctxOf("k", "aGVsbG8="), true},
		{`{"BinaryEquals":{"k":"aGVsbG8="}}`, ctxOf("k", "d29ybGQ="), false},
		{`{"Null":{"aws:username":"true"}}`, ctxOf(), true},
		{`{"Null":{"aws:username":"true"}}`, ctxOf("aws:username", "alice"), false},
		{`{"Null":{"aws:username":"false"}}`, ctxOf("aws:username", "alice"), true},
		{`{"Null":{"aws:username":false}}`, ctxOf(), false},
		// addresses
		{`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ctxOf("aws:SourceIp", "10.2.3.4"), true},
		{`{"IpAddress":{"aws:SourceIp":["192.168.0.1","10.0.0.0/8"]}}`, ctxOf("aws:SourceIp", "192.168.0.1"), true},
		{`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ctxOf("aws:SourceIp", "11.0.0.1"), false},
		{`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, ctxOf("aws:SourceIp", "2001:db8::1"), true},
		{`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ctxOf("aws:SourceIp", "11.0.0.1"), true},
		{`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ctxOf(), true},
		{`{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, ctxOf(), true},
		// ARNs
		{`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::` + acctA + `:user/*"}}`, nil, true},
		{`{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::*:user/alice"}}`, nil, true},
		{`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`, nil, false},
		{`{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`, nil, true},
		{`{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::` + acctA + `:user/alice"}}`, nil, false},
		{`{"ArnLike":{"k":"arn:aws:iam::*"}}`, ctxOf("k", "not-an-arn"), false},
		{`{"ArnLike":{"k":"arn:*:iam::1*:user/*"}}`, ctxOf("k", "arn:aws:iam::123456789012:user/a:b"), true},
		{`{"ArnLike":{"k":"arn:aws:iam:*:1*"}}`, ctxOf("k", "arn:aws:iam::123456789012:user/a"), true}, // fewer than six parts: whole-string match
		{`{"ArnLike":{"k":"arn:aws:iam:*:1*:user/a"}}`, ctxOf("k", "arn:aws:iam::123456789012:user/a:b"), false},
		{`{"StringEquals":{"aws:PrincipalAccount":"` + acctA + `"}}`, nil, true},
		// AND of operators and keys
		{`{"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}}`, ctxOf("aws:username", "alice", "aws:SecureTransport", "true"), true},
		{`{"StringEquals":{"aws:username":"alice","aws:PrincipalTag/team":"red"}}`, ctxOf("aws:username", "alice", "aws:PrincipalTag/team", "blue"), false},
	}
	for i, c := range cases {
		p := condPolicy(t, c.cond)
		r := &Request{Principal: alice, Action: "secretsmanager:GetSecretValue", Resource: secretA, Context: c.ctx, Now: now}
		d, _ := p.Evaluate(r)
		if got := d == Allow; got != c.want {
			t.Errorf("case %d %s: applies = %v, want %v", i, c.cond, got, c.want)
		}
	}
}

func TestVariablesAndWildcards(t *testing.T) {
	cases := []struct {
		version  string
		resource string
		target   string
		ctx      *Context
		want     bool
	}{
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:app/${aws:username}-*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/alice-AbCdEf", ctxOf("aws:username", "alice"), true},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:app/${aws:username}-*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/bob-AbCdEf", ctxOf("aws:username", "alice"), false},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:app/${aws:username}-*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/alice-AbCdEf", ctxOf(), false},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:app/${aws:username, 'alice'}-*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/alice-AbCdEf", ctxOf(), true},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:${aws:PrincipalTag/team}/*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:red/x", ctxOf("aws:PrincipalTag/team", "red"), true},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:${aws:username}", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:abc", ctxOf("aws:username", "a*"), false},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:${aws:username}", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:a*", ctxOf("aws:username", "a*"), true},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:a${*}b${?}${$}", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:a*b?$", nil, true},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:a${*}b", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:axxb", nil, false},
		{"2008-10-17", "arn:aws:secretsmanager:*:*:secret:app/${aws:username}-*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/alice-AbCdEf", ctxOf("aws:username", "alice"), false},
		{"2008-10-17", "arn:aws:secretsmanager:*:*:secret:app/${aws:username}-*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/${aws:username}-x", ctxOf("aws:username", "alice"), true},
		// segment-aware matching
		{"2012-10-17", "arn:aws:secretsmanager:*:" + acctA + ":secret:*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:a:b:c", nil, true},
		{"2012-10-17", "arn:aws:secretsmanager:*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:x", nil, true}, // whole-string match
		{"2012-10-17", "arn:aws:secretsmanager:us-*:" + acctA + ":secret:x", "arn:aws:secretsmanager:us-east-1:extra:" + acctA + ":secret:x", nil, false},
		{"2012-10-17", "arn:aws:*", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:x", nil, true},
		{"2012-10-17", "arn:aws:secretsmanager:us-*:" + acctA + ":secret:db-??????", secretA, nil, true},
		{"2012-10-17", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:db-?????", secretA, nil, false},
		{"2012-10-17", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:DB-*", secretA, nil, false},
		{"2012-10-17", "*", "*", nil, true},
		{"2012-10-17", "arn:aws:secretsmanager:*:*:secret:*", "*", nil, false},
	}
	for i, c := range cases {
		doc := `{"Statement":{"Effect":"Allow","Action":"secretsmanager:*","Resource":"` + c.resource + `"}`
		if c.version != "" {
			doc += `,"Version":"` + c.version + `"`
		}
		p := parseOrDie(t, Identity, doc+`}`)
		d, _ := p.Evaluate(&Request{Principal: alice, Action: "secretsmanager:GetSecretValue", Resource: c.target, Context: c.ctx})
		if got := d == Allow; got != c.want {
			t.Errorf("case %d: %s vs %s = %v, want %v", i, c.resource, c.target, got, c.want)
		}
	}
	// Actions compare case-insensitively with wildcards.
	p := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["SecretsManager:Get*Value","kms:?ecrypt"],"Resource":"*"}}`)
	for action, want := range map[string]bool{"secretsmanager:GetSecretValue": true, "SECRETSMANAGER:GETSECRETVALUE": true, "kms:Decrypt": true, "kms:Encrypt": false, "secretsmanager:PutSecretValue": false} {
		d, _ := p.Evaluate(&Request{Principal: alice, Action: action, Resource: secretA})
		if (d == Allow) != want {
			t.Errorf("action %s: %v, want allow=%v", action, d, want)
		}
	}
}

func resourcePolicy(t testing.TB, principal string) *Policy {
	return parseOrDie(t, Resource, `{"Version":"2012-10-17","Statement":{"Sid":"Grant","Effect":"Allow","Principal":`+principal+`,"Action":"secretsmanager:GetSecretValue","Resource":"*"}}`)
}

func TestAuthorize(t *testing.T) {
	allowAll := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":{"Sid":"All","Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}}`)
	denyGet := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*"}}`)
	sessNone := parseOrDie(t, Session, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:DescribeSecret","Resource":"*"}}`)
	sessAll := parseOrDie(t, Session, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	sessDeny := parseOrDie(t, Session, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"secretsmanager:Get*","Resource":"*"}]}`)
	resDeny := parseOrDie(t, Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"secretsmanager:*","Resource":"*"}}`)
	trust := parseOrDie(t, Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+acctA+`"},"Action":"sts:AssumeRole"}}`)
	trustUser := parseOrDie(t, Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+alice.ARN+`"},"Action":"sts:AssumeRole"}}`)
	secretB := "arn:aws:secretsmanager:us-east-1:" + acctB + ":secret:db-AbCdEf"

	cases := []struct {
		name   string
		in     Input
		want   bool
		reason Reason
	}{
		{"no policy", Input{}, false, NoIdentityAllow},
		{"identity allow", Input{Identity: []*Policy{allowAll}}, true, Allowed},
		{"identity deny wins", Input{Identity: []*Policy{allowAll, denyGet}}, false, ExplicitDenyIdentity},
		{"resource deny wins", Input{Identity: []*Policy{allowAll}, Resource: resDeny}, false, ExplicitDenyResource},
		{"resource names user", Input{Resource: resourcePolicy(t, `{"AWS":"`+alice.ARN+`"}`)}, true, Allowed},
		{"resource names star", Input{Resource: resourcePolicy(t, `"*"`)}, true, Allowed},
		{"resource names own account only", Input{Resource: resourcePolicy(t, `{"AWS":"`+acctA+`"}`)}, false, NoIdentityAllow},
		{"resource names own root only", Input{Resource: resourcePolicy(t, `{"AWS":"arn:aws:iam::`+acctA+`:root"}`)}, false, NoIdentityAllow},
		{"resource names other user", Input{Resource: resourcePolicy(t, `{"AWS":"`+bob.ARN+`"}`)}, false, NoIdentityAllow},
		{"root own account", Input{Request: &Request{Principal: rootA}, Root: true}, true, Allowed},
		{"root own account resource deny", Input{Request: &Request{Principal: rootA}, Root: true, Resource: resDeny}, false, ExplicitDenyResource},
		{"root cross account", Input{Request: &Request{Principal: rootA, Resource: secretB}, Root: true, ResourceAccount: acctB}, false, NoResourceAllow},
		{"root cross account granted", Input{Request: &Request{Principal: rootA, Resource: secretB}, Root: true, ResourceAccount: acctB, Resource: resourcePolicy(t, `{"AWS":"`+acctA+`"}`)}, true, Allowed},
		{"cross account identity only", Input{Request: &Request{Principal: bob}, Identity: []*Policy{allowAll}, ResourceAccount: acctA}, false, NoResourceAllow},
		{"cross account resource only", Input{Request: &Request{Principal: bob}, Resource: resourcePolicy(t, `{"AWS":"`+bob.ARN+`"}`), ResourceAccount: acctA}, false, NoIdentityAllow},
		{"cross account both", Input{Request: &Request{Principal: bob}, Identity: []*Policy{allowAll}, Resource: resourcePolicy(t, `{"AWS":"`+acctB+`"}`), ResourceAccount: acctA}, true, Allowed},
		{"session caps identity", Input{Request: &Request{Principal: session}, Identity: []*Policy{allowAll}, Session: sessNone}, false, NoSessionAllow},
		{"session allows", Input{Request: &Request{Principal: session}, Identity: []*Policy{allowAll}, Session: sessAll}, true, Allowed},
		{"session deny", Input{Request: &Request{Principal: session}, Identity: []*Policy{allowAll}, Session: sessDeny}, false, ExplicitDenySession},
		{"session ARN grant not capped", Input{Request: &Request{Principal: session}, Session: sessNone, Resource: resourcePolicy(t, `{"AWS":"`+session.ARN+`"}`)}, true, Allowed},
		{"role ARN grant capped", Input{Request: &Request{Principal: session}, Session: sessNone, Resource: resourcePolicy(t, `{"AWS":"`+session.RoleARN+`"}`)}, false, NoSessionAllow},
		{"role ARN grant no session policy", Input{Request: &Request{Principal: session}, Resource: resourcePolicy(t, `{"AWS":"`+session.RoleARN+`"}`)}, true, Allowed},
		{"trust names account, no identity", Input{Request: &Request{Action: "sts:AssumeRole"}, Resource: trust}, false, NoIdentityAllow},
		{"trust names account, identity allows", Input{Request: &Request{Action: "sts:AssumeRole"}, Identity: []*Policy{parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}`)}, Resource: trust}, true, Allowed},
		{"trust names user", Input{Request: &Request{Action: "sts:AssumeRole"}, Resource: trustUser}, true, Allowed},
		{"trust required even with identity", Input{Request: &Request{Principal: alice, Action: "sts:AssumeRole"}, Identity: []*Policy{parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)}, Resource: parseOrDie(t, Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}}`)}, false, NoResourceAllow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.in.Request
			if r == nil {
				r = &Request{}
			}
			req := *r
			if req.Principal.ARN == "" {
				req.Principal = alice
			}
			if req.Action == "" {
				req.Action = "secretsmanager:GetSecretValue"
			}
			if req.Resource == "" {
				req.Resource = secretA
			}
			c.in.Request = &req
			got := Authorize(&c.in)
			if got.Allowed != c.want || got.Reason != c.reason {
				t.Fatalf("Authorize = (%v, %v), want (%v, %v)", got.Allowed, got.Reason, c.want, c.reason)
			}
			if got.Allowed && !c.in.Root && len(got.Matched) == 0 {
				t.Fatalf("allowed with no matched statement")
			}
		})
	}
}

func TestMatchedAndDenial(t *testing.T) {
	allow := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"secretsmanager:Get*","Resource":"*"},{"Sid":"Other","Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)
	deny := parseOrDie(t, Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoProd","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"secretsmanager:ResourceTag/env":"prod"}}}]}`)
	r := &Request{Principal: alice, Action: "secretsmanager:GetSecretValue", Resource: secretA, Context: ctxOf("secretsmanager:ResourceTag/env", "prod")}
	res := Authorize(&Input{Request: r, Identity: []*Policy{allow}})
	if !res.Allowed || len(res.Matched) != 1 || res.Matched[0] != (Match{Policy: "p", Sid: "Read", Index: 0, Effect: Allow}) {
		t.Fatalf("allow result = %+v", res)
	}
	res = Authorize(&Input{Request: r, Identity: []*Policy{allow, deny}})
	if res.Allowed || len(res.Matched) != 1 || res.Matched[0] != (Match{Policy: "p", Sid: "NoProd", Index: 1, Effect: Deny}) {
		t.Fatalf("deny result = %+v", res)
	}
	d, m := deny.Evaluate(r)
	if d != Deny || len(m) != 1 || m[0].Sid != "NoProd" {
		t.Fatalf("Evaluate = %v %+v", d, m)
	}
	const action = "secretsmanager:GetSecretValue"
	want := map[Reason]string{
		Allowed:              "",
		NoIdentityAllow:      "because no identity-based policy allows the secretsmanager:GetSecretValue action",
		NoResourceAllow:      "because no resource-based policy allows the secretsmanager:GetSecretValue action",
		NoSessionAllow:       "because no session policy allows the secretsmanager:GetSecretValue action",
		ExplicitDenyIdentity: "with an explicit deny in an identity-based policy",
		ExplicitDenyResource: "with an explicit deny in a resource-based policy",
		ExplicitDenySession:  "with an explicit deny in a session policy",
	}
	for reason, text := range want {
		if got := (Result{Reason: reason}).Denial(action); got != text {
			t.Errorf("Denial(%v) = %q, want %q", reason, got, text)
		}
	}
}

func TestNotPrincipal(t *testing.T) {
	// Deny everyone except the listed principal: a session is left out only
	// when its session ARN, its role and its account are all listed.
	mk := func(list string) *Policy {
		return parseOrDie(t, Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":`+list+`},"Action":"secretsmanager:*","Resource":"*"}]}`)
	}
	cases := []struct {
		list string
		p    Principal
		want bool
	}{
		{`["` + session.ARN + `","` + session.RoleARN + `","` + acctA + `"]`, session, true},
		{`["` + session.ARN + `","` + session.RoleARN + `"]`, session, false},
		{`["` + alice.ARN + `","arn:aws:iam::` + acctA + `:root"]`, alice, true},
		{`["` + alice.ARN + `"]`, alice, false},
		{`["` + alice.ARN + `","arn:aws:iam::` + acctA + `:root"]`, session, false},
	}
	for i, c := range cases {
		res := Authorize(&Input{Request: &Request{Principal: c.p, Action: "secretsmanager:GetSecretValue", Resource: secretA}, Resource: mk(c.list)})
		if res.Allowed != c.want {
			t.Errorf("case %d: allowed = %v, want %v (%v)", i, res.Allowed, c.want, res.Reason)
		}
	}
}

func TestIsPublicAndValidate(t *testing.T) {
	stmt := func(principal, cond string) string {
		s := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":` + principal + `,"Action":"secretsmanager:GetSecretValue","Resource":"*"`
		if cond != "" {
			s += `,"Condition":` + cond
		}
		return s + `}}`
	}
	cases := []struct {
		doc  string
		want bool
	}{
		{stmt(`"*"`, ""), true},
		{stmt(`{"AWS":"*"}`, ""), true},
		{stmt(`{"AWS":["`+acctB+`","*"]}`, ""), true},
		{stmt(`{"AWS":"`+acctB+`"}`, ""), false},
		{stmt(`{"AWS":"arn:aws:iam::`+acctB+`:role/App"}`, ""), false},
		{stmt(`{"AWS":"`+acctA+`"}`, ""), false},
		{stmt(`{"Service":"lambda.amazonaws.com"}`, ""), false},
		{stmt(`"*"`, `{"StringEquals":{"aws:PrincipalAccount":"`+acctA+`"}}`), false},
		{stmt(`"*"`, `{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}`), false},
		{stmt(`"*"`, `{"StringEquals":{"aws:SourceAccount":"`+acctA+`"}}`), false},
		{stmt(`"*"`, `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::`+acctA+`:role/*"}}`), false},
		{stmt(`"*"`, `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`), true},
		{stmt(`"*"`, `{"StringLike":{"aws:PrincipalAccount":"*"}}`), true},
		{stmt(`"*"`, `{"StringEqualsIfExists":{"aws:PrincipalAccount":"`+acctA+`"}}`), true},
		{stmt(`"*"`, `{"StringNotEquals":{"aws:PrincipalAccount":"`+acctA+`"}}`), true},
		{stmt(`"*"`, `{"StringEquals":{"aws:username":"alice"}}`), true},
		{stmt(`"*"`, `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`), false},
		{stmt(`"*"`, `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`), true},
		{stmt(`"*"`, `{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}`), false},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"secretsmanager:*","Resource":"*"}}`, false},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"` + acctB + `"},"Action":"secretsmanager:*","Resource":"*"}}`, true},
	}
	for i, c := range cases {
		p := parseOrDie(t, Resource, c.doc)
		if got := IsPublic(p, acctA); got != c.want {
			t.Errorf("case %d %s: IsPublic = %v, want %v", i, c.doc, got, c.want)
		}
		f := ValidateResource(p, acctA)
		has := false
		for _, x := range f {
			if x.CheckName == CheckBroadAccess {
				has = true
			}
		}
		if has != c.want {
			t.Errorf("case %d: findings %+v, broad access expected %v", i, f, c.want)
		}
	}
	lock := parseOrDie(t, Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:*","Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"`+acctA+`"},"Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:us-east-1:`+acctB+`:secret:x"}]}`)
	f := ValidateResource(lock, acctA)
	if len(f) != 2 || f[0].CheckName != CheckLockout || f[1].CheckName != CheckResource || f[0].ErrorMessage == "" {
		t.Fatalf("findings = %+v", f)
	}
	if f := ValidateResource(resourcePolicy(t, `{"AWS":"`+acctB+`"}`), acctA); len(f) != 0 {
		t.Fatalf("findings for a clean policy = %+v", f)
	}
}

func TestContext(t *testing.T) {
	var c Context
	if _, ok := c.Get("x"); ok {
		t.Fatal("zero Context has a key")
	}
	c.Set("AWS:UserName", "alice")
	c.Add("aws:TagKeys", "a")
	c.Add("AWS:tagkeys", "b")
	if v, ok := c.Get("aws:username"); !ok || len(v) != 1 || v[0] != "alice" {
		t.Fatalf("Get username = %v %v", v, ok)
	}
	if v, _ := c.Get("aws:tagKeys"); strings.Join(v, ",") != "a,b" {
		t.Fatalf("Get tagkeys = %v", v)
	}
	c.Set("aws:username", "bob")
	if v, _ := c.Get("aws:username"); v[0] != "bob" {
		t.Fatalf("Set did not replace: %v", v)
	}
	var nilCtx *Context
	if _, ok := nilCtx.Get("x"); ok {
		t.Fatal("nil Context has a key")
	}
}

// Adding a Deny statement never widens access; statement and policy order
// never change the decision.
func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	pl := newPool(t, rng, 500)
	for i := 0; i < 5000; i++ {
		c := genCase(t, rng, pl)
		before := Authorize(&c.in)

		// Add a Deny to a random policy (identity or resource).
		extra := genStmt(rng, false, 99)
		extra.Effect, extra.Sid = "Deny", ""
		in2 := c.in
		if c.ref.resource != nil && rng.Intn(2) == 0 {
			g := *c.ref.resource
			extra.Principal = []string{pick(rng, vPrincipalRefs)}
			g.Stmts = append(append([]gStmt(nil), g.Stmts...), extra)
			in2.Resource = mustParse(t, &g, Resource)
		} else {
			g := &gPolicy{Name: "extra", Version: "2012-10-17", Stmts: []gStmt{extra}}
			in2.Identity = append(append([]*Policy(nil), c.in.Identity...), mustParse(t, g, Identity))
		}
		if after := Authorize(&in2); after.Allowed && !before.Allowed {
			t.Fatalf("case %d: adding a Deny widened access\n%s", i, c.String())
		}

		// Shuffle statements within each policy and the identity policies.
		in3 := c.in
		in3.Identity = nil
		for _, g := range c.ref.identity {
			in3.Identity = append(in3.Identity, mustParse(t, shuffled(rng, g), Identity))
		}
		rng.Shuffle(len(in3.Identity), func(a, b int) { in3.Identity[a], in3.Identity[b] = in3.Identity[b], in3.Identity[a] })
		if c.ref.session != nil {
			in3.Session = mustParse(t, shuffled(rng, c.ref.session), Session)
		}
		if c.ref.resource != nil {
			in3.Resource = mustParse(t, shuffled(rng, c.ref.resource), Resource)
		}
		after := Authorize(&in3)
		if after.Allowed != before.Allowed || after.Reason != before.Reason || len(after.Matched) != len(before.Matched) {
			t.Fatalf("case %d: order changed the decision: %v/%v -> %v/%v\n%s", i, before.Allowed, before.Reason, after.Allowed, after.Reason, c.String())
		}
	}
}

func shuffled(rng *rand.Rand, g *gPolicy) *gPolicy {
	c := *g
	c.Stmts = append([]gStmt(nil), g.Stmts...)
	rng.Shuffle(len(c.Stmts), func(a, b int) { c.Stmts[a], c.Stmts[b] = c.Stmts[b], c.Stmts[a] })
	return &c
}

func BenchmarkAuthorize(b *testing.B) {
	in := benchInput(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Authorize(in)
	}
}

// BenchmarkAuthorizeScan is BenchmarkAuthorize's evaluation without the
// policies' action indexes: every statement is matched (the cost of an
// action a policy has not been asked about yet, or of one beyond its
// index).
func BenchmarkAuthorizeScan(b *testing.B) {
	in := benchInput(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var ev evalState
		ev.init(in.Request)
		ev.actionID = -1
		var rs refs
		var v verdict
		for _, p := range in.Identity {
			p.eval(&ev, &v, &rs)
		}
		in.Resource.eval(&ev, &v, &rs)
		if !v.allow {
			b.Fatal("not allowed")
		}
	}
}

// BenchmarkContextSet is the cost of filling a request's Context with the
// 15 keys a caller typically sets (lower-case keys).
func BenchmarkContextSet(b *testing.B) {
	keys := []string{"aws:principalarn", "aws:principaltype", "aws:username", "aws:principalaccount", "aws:userid",
		"aws:principaltag/team", "aws:principaltag/env", "aws:sourceip", "aws:securetransport", "aws:currenttime",
		"aws:epochtime", "aws:requestedregion", "aws:principalisawsservice", "aws:viaawsservice", "aws:calledvia"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var c Context
		for _, k := range keys {
			c.Set(k, "value")
		}
	}
}

func benchInput(b *testing.B) *Input {
	var ids []*Policy
	for i := 0; i < 10; i++ {
		var stmts []string
		for j := 0; j < 10; j++ {
			stmts = append(stmts, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Action":["secretsmanager:Describe*","secretsmanager:List*","kms:Decrypt"],"Resource":"arn:aws:secretsmanager:*:%s:secret:team%d/app%d-*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"team%d"},"Bool":{"aws:SecureTransport":"true"}}}`, j, acctA, i, j, i))
		}
		if i == 9 {
			// the statement that finally matches
			stmts[9] = `{"Sid":"Read","Effect":"Allow","Action":"secretsmanager:Get*","Resource":"arn:aws:secretsmanager:*:` + acctA + `:secret:app/${aws:username}-*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"red"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`
		}
		ids = append(ids, parseOrDie(b, Identity, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`))
	}
	res := parseOrDie(b, Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acctB+`:role/Reader"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`)
	ctx := &Context{}
	ctx.Set("aws:username", "alice")
	ctx.Set("aws:PrincipalTag/team", "red")
	ctx.Set("aws:SourceIp", "10.1.2.3")
	ctx.Set("aws:SecureTransport", "true")
	ctx.Set("secretsmanager:ResourceTag/env", "prod")
	in := &Input{
		Request: &Request{Principal: alice, Action: "secretsmanager:GetSecretValue",
			Resource: "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:app/alice-AbCdEf", Context: ctx, Now: time.Now()},
		Identity: ids, Resource: res, ResourceAccount: acctA,
	}
	if r := Authorize(in); !r.Allowed || len(r.Matched) != 1 || r.Matched[0].Sid != "Read" {
		b.Fatalf("benchmark request not allowed as expected: %+v", r)
	}
	return in
}
