package iam

import (
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

const (
	secretOne   = "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:one-AbCdEf"
	secretOther = "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:other-GhIjKl"
)

// oneSecretPolicy is the session policy a rotation function gets.
const oneSecretPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"secretsmanager:*","Resource":"` + secretOne + `"},
 {"Effect":"Allow","Action":"secretsmanager:GetRandomPassword","Resource":"*"}]}`

// allowedFor evaluates action on resource for c as internal/secrets does
// (no resource policy).
func allowedFor(c Caller, action, resource string) bool {
	id := c.Identity
	var pc policy.Context
	id.Fill(&pc, c.Request)
	return policy.Authorize(&policy.Input{
		Request:         &policy.Request{Principal: id.PolicyPrincipal(), Action: action, Resource: resource, Context: &pc, Now: c.Request.Now},
		Identity:        id.Policies,
		Session:         id.Session,
		ResourceAccount: acctA,
		Root:            id.Root,
	}).Allowed
}

func TestIssueSessionScopedToOneSecret(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	creds, err := e.s.IssueSession(ctx, acctA, "rotation-one", oneSecretPolicy, 5*time.Minute)
	must(t, "IssueSession", err)
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SessionToken == "" {
		t.Fatalf("credentials %v: want an ASIA key with a session token", creds)
	}
	if want := e.clk.now().Add(5 * time.Minute); !creds.Expiration.Equal(want) {
		t.Errorf("expiration %v, want %v", creds.Expiration, want)
	}
	c := e.callerOf(t, creds.AccessKeyID, creds.SessionToken)
	if got, want := c.Identity.Principal.ARN, "arn:aws:sts::"+acctA+":assumed-role/"+ServiceRoleName+"/rotation-one"; got != want {
		t.Errorf("principal %s, want %s", got, want)
	}
	if c.Identity.Root {
		t.Error("session identity is the root")
	}
	cases := []struct {
		action, resource string
		want             bool
	}{
		{"secretsmanager:GetSecretValue", secretOne, true},
		{"secretsmanager:PutSecretValue", secretOne, true},
		{"secretsmanager:UpdateSecretVersionStage", secretOne, true},
		{"secretsmanager:DescribeSecret", secretOne, true},
		{"secretsmanager:GetRandomPassword", "*", true},
		{"secretsmanager:GetSecretValue", secretOther, false},
		{"secretsmanager:PutSecretValue", secretOther, false},
		{"secretsmanager:ListSecrets", "*", false},
		{"secretsmanager:CreateSecret", "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:new-123456", false},
		{"iam:CreateUser", "arn:aws:iam::" + acctA + ":user/x", false},
		{"sts:AssumeRole", "arn:aws:iam::" + acctA + ":role/" + ServiceRoleName, false},
	}
	for _, tc := range cases {
		if got := allowedFor(c, tc.action, tc.resource); got != tc.want {
			t.Errorf("%s on %s: allowed %v, want %v", tc.action, tc.resource, got, tc.want)
		}
	}
	// The session cannot administer IAM through the service either.
	_, err = e.s.CreateUser(ctx, c, "mallory", "", nil)
	wantIAMError(t, "CreateUser by the session", err, "AccessDenied", "")

	// Expired after its lifetime.
	e.clk.add(5*time.Minute + CacheTTL)
	if _, err := e.s.LookupAccessKey(ctx, creds.AccessKeyID, creds.SessionToken); err == nil {
		t.Error("LookupAccessKey after expiry: no error")
	}
}

func TestIssueSessionRestoresServiceRole(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	_, err := e.s.IssueSession(ctx, acctA, "s1", oneSecretPolicy, time.Minute)
	must(t, "IssueSession", err)
	r, err := e.s.GetRole(ctx, root, ServiceRoleName)
	must(t, "GetRole", err)
	if r.Path != ServiceRolePath {
		t.Errorf("role path %q, want %q", r.Path, ServiceRolePath)
	}
	// No one may assume the service role, even a user allowed everything.
	k := e.userWithKey(t, acctA, "admin", allowAll)
	admin := e.callerOf(t, k.ID, "")
	_, err = e.s.AssumeRole(ctx, admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "steal"})
	wantIAMError(t, "AssumeRole of the service role", err, "AccessDenied", "")

	// An operator narrows the role's policy: the next session gets it back.
	must(t, "PutInlinePolicy", e.s.PutInlinePolicy(ctx, root, storage.EntityRole, ServiceRoleName, serviceRolePolicy,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`))
	creds, err := e.s.IssueSession(ctx, acctA, "s2", oneSecretPolicy, time.Minute)
	must(t, "IssueSession", err)
	if c := e.callerOf(t, creds.AccessKeyID, creds.SessionToken); !allowedFor(c, "secretsmanager:GetSecretValue", secretOne) {
		t.Error("after the role's policy was changed: the new session may not read its secret")
	}
	// Deleted: created again.
	must(t, "DeleteRolePolicy", e.s.DeleteInlinePolicy(ctx, root, storage.EntityRole, ServiceRoleName, serviceRolePolicy))
	must(t, "DeleteRole", e.s.DeleteRole(ctx, root, ServiceRoleName))
	creds, err = e.s.IssueSession(ctx, acctA, "s3", oneSecretPolicy, time.Minute)
	must(t, "IssueSession", err)
	if c := e.callerOf(t, creds.AccessKeyID, creds.SessionToken); !allowedFor(c, "secretsmanager:GetSecretValue", secretOne) {
		t.Error("after the role was deleted: the new session may not read its secret")
	}
}

func TestIssueSessionRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for _, tc := range []struct{ account, name, pol string }{
		{"12345", "ok-name", oneSecretPolicy},
		{acctA, "x", oneSecretPolicy},
		{acctA, "bad name", oneSecretPolicy},
		{acctA, "ok-name", ""},
		{acctA, "ok-name", `{"Version":"2012-10-17","Statement":[]}`},
		{"999999999999", "ok-name", oneSecretPolicy}, // no such account
	} {
		if _, err := e.s.IssueSession(ctx, tc.account, tc.name, tc.pol, time.Minute); err == nil {
			t.Errorf("IssueSession(%q, %q, %q): no error", tc.account, tc.name, tc.pol)
		}
	}
}
