package iam

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

func TestAccessKeys(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	k1 := e.userWithKey(t, acctA, "alice", "")
	if !strings.HasPrefix(k1.ID, "AKIA") || len(k1.ID) != 20 || len(k1.Secret) != 40 || k1.Status != "Active" {
		t.Errorf("CreateAccessKey: %v status %s", k1, k1.Status)
	}
	k2, err := e.s.CreateAccessKey(ctx, root, "alice")
	must(t, "second key", err)
	_, err = e.s.CreateAccessKey(ctx, root, "alice")
	wantIAMError(t, "third key", err, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	_, err = e.s.CreateAccessKey(ctx, root, "nobody")
	wantIAMError(t, "key of a missing user", err, "NoSuchEntity", "The user with name nobody cannot be found.")

	cred, err := e.s.LookupAccessKey(ctx, k1.ID, "")
	must(t, "LookupAccessKey", err)
	p := cred.Principal
	if cred.Secret() != k1.Secret || p.Kind != KindUser || p.Name != "alice" || p.ARN != "arn:aws:iam::"+acctA+":user/alice" ||
		!strings.HasPrefix(p.UserID, "AIDA") || p.Account != acctA {
		t.Errorf("credential of a user key: %+v", p)
	}
	for _, printed := range []string{fmt.Sprint(cred), fmt.Sprint(*cred), fmt.Sprintf("%+v", *cred), fmt.Sprintf("%#v", *cred)} {
		if strings.Contains(printed, k1.Secret) {
			t.Errorf("a printed credential holds its secret: %s", printed)
		}
	}
	if _, err := e.s.LookupAccessKey(ctx, k1.ID, "some-token"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("permanent key with a session token: %v, want ErrUnknownKey", err)
	}
	keys, err := e.s.ListAccessKeys(ctx, root, "alice")
	must(t, "ListAccessKeys", err)
	if len(keys) != 2 || keys[0].Secret != "" || keys[0].UserName != "alice" {
		t.Errorf("ListAccessKeys: %v", keys)
	}

	// Deactivation takes effect on the next request, although the key is cached.
	wantIAMError(t, "bad status", e.s.UpdateAccessKey(ctx, root, "alice", k1.ID, "Disabled"), "ValidationError",
		"1 validation error detected: Value 'Disabled' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]")
	must(t, "UpdateAccessKey Inactive", e.s.UpdateAccessKey(ctx, root, "alice", k1.ID, "Inactive"))
	if _, err := e.s.LookupAccessKey(ctx, k1.ID, ""); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("inactive key: %v, want ErrUnknownKey", err)
	}
	keys, _ = e.s.ListAccessKeys(ctx, root, "alice")
	for _, lk := range keys {
		if want := map[bool]string{true: "Inactive", false: "Active"}[lk.ID == k1.ID]; lk.Status != want {
			t.Errorf("status of %s after UpdateAccessKey: %s, want %s", lk.ID, lk.Status, want)
		}
	}
	must(t, "UpdateAccessKey Active", e.s.UpdateAccessKey(ctx, root, "alice", k1.ID, "Active"))
	if _, err := e.s.LookupAccessKey(ctx, k1.ID, ""); err != nil {
		t.Errorf("reactivated key: %v", err)
	}
	// A key of another user is not found through this one.
	_, err = e.s.CreateUser(ctx, root, "bob", "", nil)
	must(t, "CreateUser", err)
	wantIAMError(t, "key of another user", e.s.DeleteAccessKey(ctx, root, "bob", k1.ID), "NoSuchEntity", "The Access Key with id "+k1.ID+" cannot be found.")
	must(t, "DeleteAccessKey", e.s.DeleteAccessKey(ctx, root, "alice", k2.ID))
	if _, err := e.s.LookupAccessKey(ctx, k2.ID, ""); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("deleted key: %v, want ErrUnknownKey", err)
	}

	// A user manages its own keys with userName "" when its policies allow.
	self := e.userWithKey(t, acctA, "carol", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::*:user/${aws:username}"}]}`)
	c := e.callerOf(t, self.ID, "")
	own, err := e.s.CreateAccessKey(ctx, c, "")
	must(t, "CreateAccessKey of oneself", err)
	if own.UserName != "carol" {
		t.Errorf("own key's user: %q", own.UserName)
	}
	_, err = e.s.CreateAccessKey(ctx, c, "alice")
	wantIAMError(t, "CreateAccessKey of another user", err, "AccessDenied", "")
}

// Two nodes share one store: a change made on one is seen by the other
// within CacheTTL.
func TestCacheBoundAcrossNodes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	other := New(e.store, e.root, "aws", e.clk.now)
	k := e.userWithKey(t, acctA, "alice", allowAll)
	cred, err := other.LookupAccessKey(ctx, k.ID, "")
	must(t, "lookup on the other node", err)
	id, err := other.Identity(ctx, cred.Principal)
	must(t, "identity on the other node", err)
	if len(id.Policies) != 1 {
		t.Fatalf("policies: %d, want 1", len(id.Policies))
	}
	must(t, "deactivate", e.s.UpdateAccessKey(ctx, e.rootOf(acctA), "alice", k.ID, "Inactive"))
	must(t, "delete policy", e.s.DeleteInlinePolicy(ctx, e.rootOf(acctA), storage.EntityUser, "alice", "inline"))
	if _, err := other.LookupAccessKey(ctx, k.ID, ""); err != nil {
		t.Errorf("other node within the TTL: %v (the entry should still be cached)", err)
	}
	e.clk.add(CacheTTL)
	if _, err := other.LookupAccessKey(ctx, k.ID, ""); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("other node after the TTL: %v, want ErrUnknownKey", err)
	}
	id, err = other.Identity(ctx, cred.Principal)
	must(t, "identity after the TTL", err)
	if len(id.Policies) != 0 {
		t.Errorf("policies after the TTL: %d, want 0", len(id.Policies))
	}
}

func TestAdminAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	k := e.userWithKey(t, acctA, "dev-admin", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:CreateUser","Resource":"arn:aws:iam::111122223333:user/dev/*"},
		{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
		{"Effect":"Allow","Action":"iam:TagUser","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}]}`)
	c := e.callerOf(t, k.ID, "")
	caller := "arn:aws:iam::" + acctA + ":user/dev-admin"

	_, err := e.s.CreateUser(ctx, c, "x", "/dev/", nil)
	must(t, "CreateUser under /dev/", err)
	_, err = e.s.CreateUser(ctx, c, "y", "/prod/", nil)
	wantIAMError(t, "CreateUser under /prod/", err, "AccessDenied", "User: "+caller+
		" is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+acctA+":user/prod/y because no identity-based policy allows the iam:CreateUser action")
	if err := e.s.DeleteUser(ctx, c, "x"); err == nil {
		t.Error("DeleteUser without permission succeeded")
	}
	// Conditions see the request context.
	if _, err := e.s.GetUser(ctx, c, "x"); err != nil {
		t.Errorf("GetUser over TLS: %v", err)
	}
	plain := c
	plain.Request.SecureTransport = false
	_, err = e.s.GetUser(ctx, plain, "x")
	wantIAMError(t, "GetUser without TLS", err, "AccessDenied", "")
	must(t, "TagUser with an allowed key", e.s.TagUser(ctx, c, "x", []Tag{{"team", "a"}}))
	wantIAMError(t, "TagUser with another key", e.s.TagUser(ctx, c, "x", []Tag{{"owner", "a"}}), "AccessDenied", "")
	// A caller administers its own account only, even with Allow *.
	admin := e.userWithKey(t, acctB, "admin", allowAll)
	cb := e.callerOf(t, admin.ID, "")
	_, err = e.s.GetPolicy(ctx, cb, "arn:aws:iam::"+acctA+":policy/p")
	wantIAMError(t, "GetPolicy of another account", err, "AccessDenied", "")
	// And its own account's names only: acctA's user x does not exist in acctB.
	_, err = e.s.GetUser(ctx, cb, "x")
	wantIAMError(t, "GetUser in its own account", err, "NoSuchEntity", "")
}

const (
	alicePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
	roleSecrets = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
)

func TestAssumeRole(t *testing.T) {
	e := newEnv(t)
	ctx, rootA := t.Context(), e.rootOf(acctA)
	k := e.userWithKey(t, acctA, "alice", "")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},
		"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-123"}}}]}`
	role, err := e.s.CreateRole(ctx, rootA, RoleInput{Name: "reader", AssumeRolePolicyDocument: trust, MaxSessionDuration: 7200})
	must(t, "CreateRole", err)
	must(t, "PutRolePolicy", e.s.PutInlinePolicy(ctx, rootA, storage.EntityRole, "reader", "secrets", roleSecrets))
	c := e.callerOf(t, k.ID, "")
	denied := "User: arn:aws:iam::" + acctA + ":user/alice is not authorized to perform: sts:AssumeRole on resource: " + role.ARN

	in := AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "s1"}
	_, err = e.s.AssumeRole(ctx, c, in)
	wantIAMError(t, "AssumeRole without the external id", err, "AccessDenied", denied)
	in.ExternalID = "wrong"
	_, err = e.s.AssumeRole(ctx, c, in)
	wantIAMError(t, "AssumeRole with a wrong external id", err, "AccessDenied", denied)
	in.ExternalID = "ext-123"
	in.DurationSeconds = 7201
	_, err = e.s.AssumeRole(ctx, c, in)
	wantIAMError(t, "AssumeRole longer than the role allows", err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	in.DurationSeconds = 0
	in.RoleSessionName = "a b"
	_, err = e.s.AssumeRole(ctx, c, in)
	wantIAMError(t, "bad session name", err, "ValidationError", "")
	in.RoleSessionName = "s1"
	_, err = e.s.AssumeRole(ctx, rootA, in)
	wantIAMError(t, "AssumeRole as root", err, "AccessDenied", "Roles may not be assumed by root accounts.")
	_, err = e.s.AssumeRole(ctx, c, AssumeRoleInput{RoleARN: "arn:aws:iam::" + acctA + ":role/missing", RoleSessionName: "s1"})
	wantIAMError(t, "AssumeRole of a missing role", err, "AccessDenied", "")

	out, err := e.s.AssumeRole(ctx, c, in)
	must(t, "AssumeRole", err)
	cr := out.Credentials
	if !strings.HasPrefix(cr.AccessKeyID, "ASIA") || len(cr.AccessKeyID) != 20 || len(cr.SecretAccessKey) != 40 ||
		!cr.Expiration.Equal(e.clk.now().Add(time.Hour)) {
		t.Errorf("credentials: %v expiring %v", cr, cr.Expiration)
	}
	if out.AssumedRoleARN != "arn:aws:sts::"+acctA+":assumed-role/reader/s1" || out.AssumedRoleID != role.ID+":s1" {
		t.Errorf("AssumeRole: %s %s", out.AssumedRoleARN, out.AssumedRoleID)
	}
	if strings.Contains(cr.SessionToken, cr.SecretAccessKey) {
		t.Error("session token carries the secret in clear")
	}

	// The session authenticates with its token only.
	cred, err := e.s.LookupAccessKey(ctx, cr.AccessKeyID, cr.SessionToken)
	must(t, "LookupAccessKey of the session", err)
	p := cred.Principal
	if cred.Secret() != cr.SecretAccessKey || p.Kind != KindAssumedRole || p.ARN != out.AssumedRoleARN ||
		p.UserID != out.AssumedRoleID || p.RoleARN != role.ARN || p.SessionName != "s1" || p.Account != acctA {
		t.Errorf("session principal: %+v", p)
	}
	for name, bad := range map[string][2]string{
		"no token":      {cr.AccessKeyID, ""},
		"forged token":  {cr.AccessKeyID, flipByte(t, cr.SessionToken)},
		"another key":   {"ASIAAAAAAAAAAAAAAAAA", cr.SessionToken},
		"garbage token": {cr.AccessKeyID, "not base64!"},
	} {
		if _, err := e.s.LookupAccessKey(ctx, bad[0], bad[1]); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("%s: %v, want ErrUnknownKey", name, err)
		}
	}
	// Another node with the same root key verifies it without the store's help.
	other := New(e.store, e.root, "aws", e.clk.now)
	if _, err := other.LookupAccessKey(ctx, cr.AccessKeyID, cr.SessionToken); err != nil {
		t.Errorf("other node: %v", err)
	}

	// The session's identity is the role's policies.
	sc := e.callerOf(t, cr.AccessKeyID, cr.SessionToken)
	if got := names(sc.Identity.Policies); !slices.Equal(got, []string{"secrets"}) {
		t.Errorf("session policies: %v", got)
	}
	if !allowed(sc.Identity, "secretsmanager:GetSecretValue") || allowed(sc.Identity, "secretsmanager:DeleteSecret") {
		t.Error("session identity does not follow the role's policy")
	}

	// Expiry: the cached credential does not outlive the session.
	e.clk.add(time.Hour)
	if _, err := e.s.LookupAccessKey(ctx, cr.AccessKeyID, cr.SessionToken); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("expired session: %v, want ErrExpiredToken", err)
	}
}

func flipByte(t *testing.T, token string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

func names(ps []*policy.Policy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return out
}

func allowed(id *Identity, action string) bool {
	var pc policy.Context
	id.Fill(&pc, RequestContext{})
	return policy.Authorize(&policy.Input{
		Request:  &policy.Request{Principal: id.PolicyPrincipal(), Action: action, Resource: "*", Context: &pc},
		Identity: id.Policies, Session: id.Session, Root: id.Root,
	}).Allowed
}

func TestAssumeRoleCrossAccount(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// A role in B trusts account A; A's users still need their own allow.
	role, err := e.s.CreateRole(ctx, e.rootOf(acctB), RoleInput{Name: "shared", AssumeRolePolicyDocument: trustAccount})
	must(t, "CreateRole", err)
	withAllow := e.userWithKey(t, acctA, "alice", alicePolicy)
	without := e.userWithKey(t, acctA, "bob", "")
	in := AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "x-acct"}
	_, err = e.s.AssumeRole(ctx, e.callerOf(t, without.ID, ""), in)
	wantIAMError(t, "cross-account without an identity allow", err, "AccessDenied",
		"User: arn:aws:iam::"+acctA+":user/bob is not authorized to perform: sts:AssumeRole on resource: "+role.ARN)
	out, err := e.s.AssumeRole(ctx, e.callerOf(t, withAllow.ID, ""), in)
	must(t, "cross-account with an identity allow", err)
	if out.AssumedRoleARN != "arn:aws:sts::"+acctB+":assumed-role/shared/x-acct" {
		t.Errorf("AssumedRoleARN %s", out.AssumedRoleARN)
	}
	cred, err := e.s.LookupAccessKey(ctx, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
	must(t, "LookupAccessKey", err)
	if cred.Principal.Account != acctB {
		t.Errorf("session account %s, want %s", cred.Principal.Account, acctB)
	}
	// A role in B that does not trust A refuses even an allowed caller.
	_, err = e.s.CreateRole(ctx, e.rootOf(acctB), RoleInput{Name: "private",
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}]}`})
	must(t, "CreateRole", err)
	_, err = e.s.AssumeRole(ctx, e.callerOf(t, withAllow.ID, ""), AssumeRoleInput{RoleARN: "arn:aws:iam::" + acctB + ":role/private", RoleSessionName: "xy"})
	wantIAMError(t, "untrusted account", err, "AccessDenied", "")
}

func TestSessionPolicyAndDeletedRole(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	k := e.userWithKey(t, acctA, "alice", alicePolicy)
	role, err := e.s.CreateRole(ctx, root, RoleInput{Name: "r", AssumeRolePolicyDocument: trustAccount})
	must(t, "CreateRole", err)
	must(t, "PutRolePolicy", e.s.PutInlinePolicy(ctx, root, storage.EntityRole, "r", "all", allowAll))
	out, err := e.s.AssumeRole(ctx, e.callerOf(t, k.ID, ""), AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "narrow",
		Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:Get*","Resource":"*"}]}`})
	must(t, "AssumeRole with a session policy", err)
	if out.PackedPolicySize <= 0 || out.PackedPolicySize > 100 {
		t.Errorf("PackedPolicySize %d", out.PackedPolicySize)
	}
	sc := e.callerOf(t, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
	if sc.Identity.Session == nil || !allowed(sc.Identity, "secretsmanager:GetSecretValue") || allowed(sc.Identity, "secretsmanager:DeleteSecret") {
		t.Error("session policy does not cap the role's policies")
	}
	_, err = e.s.AssumeRole(ctx, e.callerOf(t, k.ID, ""), AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "bad", Policy: `{"Statement":[]`})
	wantIAMError(t, "malformed session policy", err, "MalformedPolicyDocument", "")

	// Delete the role and create it again: the old session keeps
	// authenticating but has no policies.
	must(t, "DeleteRolePolicy", e.s.DeleteInlinePolicy(ctx, root, storage.EntityRole, "r", "all"))
	must(t, "DeleteRole", e.s.DeleteRole(ctx, root, "r"))
	_, err = e.s.CreateRole(ctx, root, RoleInput{Name: "r", AssumeRolePolicyDocument: trustAccount})
	must(t, "CreateRole again", err)
	must(t, "PutRolePolicy again", e.s.PutInlinePolicy(ctx, root, storage.EntityRole, "r", "all", allowAll))
	sc = e.callerOf(t, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
	if len(sc.Identity.Policies) != 0 || allowed(sc.Identity, "secretsmanager:GetSecretValue") {
		t.Errorf("session of a deleted role has policies: %v", names(sc.Identity.Policies))
	}
}

func TestIdentityCollectsGroupPolicies(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	k := e.userWithKey(t, acctA, "alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*"}]}`)
	must(t, "TagUser", e.s.TagUser(ctx, root, "alice", []Tag{{"team", "core"}}))
	_, err := e.s.CreateGroup(ctx, root, "readers", "")
	must(t, "CreateGroup", err)
	must(t, "AddUserToGroup", e.s.AddUserToGroup(ctx, root, "readers", "alice"))
	must(t, "PutGroupPolicy", e.s.PutInlinePolicy(ctx, root, storage.EntityGroup, "readers", "group-inline", roleSecrets))
	mp, err := e.s.CreatePolicy(ctx, root, PolicyInput{Name: "describe", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:DescribeSecret","Resource":"*"}]}`})
	must(t, "CreatePolicy", err)
	must(t, "AttachGroupPolicy", e.s.AttachPolicy(ctx, root, storage.EntityGroup, "readers", mp.ARN))

	c := e.callerOf(t, k.ID, "")
	want := []string{"inline", "group-inline", mp.ARN}
	if got := names(c.Identity.Policies); !slices.Equal(got, want) {
		t.Errorf("policies %v, want %v", got, want)
	}
	if c.Identity.Tags["team"] != "core" || c.Identity.Root {
		t.Errorf("identity: %+v", c.Identity)
	}
	for _, a := range []string{"secretsmanager:ListSecrets", "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"} {
		if !allowed(c.Identity, a) {
			t.Errorf("%s not allowed", a)
		}
	}
	// Leaving the group takes its policies away at once on this node.
	must(t, "RemoveUserFromGroup", e.s.RemoveUserFromGroup(ctx, root, "readers", "alice"))
	c = e.callerOf(t, k.ID, "")
	if allowed(c.Identity, "secretsmanager:GetSecretValue") {
		t.Error("group policy still applies after leaving the group")
	}
	// Fill sets the principal's keys.
	var pc policy.Context
	c.Identity.Fill(&pc, c.Request)
	for key, want := range map[string]string{
		"aws:username": "alice", "aws:PrincipalArn": "arn:aws:iam::" + acctA + ":user/alice",
		"aws:PrincipalAccount": acctA, "aws:PrincipalTag/team": "core", "aws:SourceIp": "192.0.2.10",
		"aws:SecureTransport": "true", "aws:RequestedRegion": "us-east-1", "aws:userid": c.Identity.Principal.UserID,
	} {
		if v, ok := pc.Get(key); !ok || len(v) != 1 || v[0] != want {
			t.Errorf("%s = %v, want %s", key, v, want)
		}
	}
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	e.userWithKey(t, acctA, "alice", `{"Version":"2012-10-17","Statement":[
		{"Sid":"Read","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"},
		{"Sid":"NoProd","Effect":"Deny","Action":"*","Resource":"arn:aws:secretsmanager:*:*:secret:prod/*"}]}`)
	res, err := e.s.SimulatePrincipalPolicy(ctx, root, SimulateInput{
		PolicySourceARN: "arn:aws:iam::" + acctA + ":user/alice",
		ActionNames:     []string{"secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"},
		ResourceARNs:    []string{"arn:aws:secretsmanager:us-east-1:111122223333:secret:dev/db", "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db"},
	})
	must(t, "SimulatePrincipalPolicy", err)
	want := []string{"allowed", "explicitDeny", "implicitDeny", "explicitDeny"}
	if len(res) != 4 {
		t.Fatalf("%d results, want 4", len(res))
	}
	for i, r := range res {
		if r.Decision != want[i] {
			t.Errorf("%s on %s: %s, want %s", r.Action, r.Resource, r.Decision, want[i])
		}
	}
	if len(res[0].Matched) != 1 || res[0].Matched[0].Sid != "Read" || res[1].Matched[0].Sid != "NoProd" {
		t.Errorf("matched: %+v %+v", res[0].Matched, res[1].Matched)
	}
	_, err = e.s.SimulatePrincipalPolicy(ctx, root, SimulateInput{PolicySourceARN: "arn:aws:iam::" + acctA + ":user/nobody", ActionNames: []string{"s3:GetObject"}})
	wantIAMError(t, "simulate a missing user", err, "NoSuchEntity", "")
}
