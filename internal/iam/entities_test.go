package iam

import (
	"fmt"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/storage"
)

func TestUsers(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)

	u, err := e.s.CreateUser(ctx, root, "Alice", "/dev/", []Tag{{"team", "core"}})
	must(t, "CreateUser", err)
	if u.ARN != "arn:aws:iam::"+acctA+":user/dev/Alice" || !strings.HasPrefix(u.ID, "AIDA") || len(u.ID) != 21 {
		t.Errorf("CreateUser: %+v", u)
	}
	_, err = e.s.CreateUser(ctx, root, "alice", "", nil)
	wantIAMError(t, "CreateUser of a taken name in another case", err, "EntityAlreadyExists", "User with name alice already exists.")
	_, err = e.s.CreateUser(ctx, root, "bad name", "", nil)
	wantIAMError(t, "CreateUser of a bad name", err, "ValidationError",
		`1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	_, err = e.s.CreateUser(ctx, root, strings.Repeat("a", 65), "", nil)
	wantIAMError(t, "CreateUser of a long name", err, "ValidationError", "")
	_, err = e.s.CreateUser(ctx, root, "bob", "dev", nil)
	wantIAMError(t, "CreateUser with a bad path", err, "ValidationError", "")
	_, err = e.s.CreateUser(ctx, root, "bob", "", []Tag{{"k", "1"}, {"K", "2"}})
	wantIAMError(t, "CreateUser with duplicate tag keys", err, "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
	_, err = e.s.CreateUser(ctx, root, "bob", "", nil)
	must(t, "CreateUser bob", err)

	got, err := e.s.GetUser(ctx, root, "ALICE")
	must(t, "GetUser", err)
	if got.Name != "Alice" || got.ID != u.ID || !got.Created.Equal(u.Created) || len(got.Tags) != 1 {
		t.Errorf("GetUser: %+v, want %+v", got, u)
	}
	_, err = e.s.GetUser(ctx, root, "nobody")
	wantIAMError(t, "GetUser of a missing user", err, "NoSuchEntity", "The user with name nobody cannot be found.")
	me, err := e.s.GetUser(ctx, root, "")
	must(t, "GetUser of the root", err)
	if me.ARN != "arn:aws:iam::"+acctA+":root" || me.ID != acctA {
		t.Errorf("GetUser of the root: %+v", me)
	}
	// Another account does not see them.
	_, err = e.s.GetUser(ctx, e.rootOf(acctB), "Alice")
	wantIAMError(t, "GetUser from another account", err, "NoSuchEntity", "")

	all, err := e.s.ListUsers(ctx, root, "")
	must(t, "ListUsers", err)
	if len(all) != 2 || all[0].Name != "Alice" || all[1].Name != "bob" {
		t.Errorf("ListUsers: %v", all)
	}
	dev, err := e.s.ListUsers(ctx, root, "/dev/")
	must(t, "ListUsers /dev/", err)
	if len(dev) != 1 || dev[0].Name != "Alice" {
		t.Errorf("ListUsers /dev/: %v", dev)
	}

	must(t, "TagUser", e.s.TagUser(ctx, root, "alice", []Tag{{"TEAM", "infra"}, {"env", "prod"}}))
	must(t, "UntagUser", e.s.UntagUser(ctx, root, "alice", []string{"env", "absent"}))
	tags, err := e.s.ListUserTags(ctx, root, "alice")
	must(t, "ListUserTags", err)
	if fmt.Sprint(tags) != "[{TEAM infra}]" {
		t.Errorf("ListUserTags: %v", tags)
	}

	// DeleteUser refuses while the user has policies, groups or keys.
	must(t, "PutInlinePolicy", e.s.PutInlinePolicy(ctx, root, storage.EntityUser, "Alice", "p", allowAll))
	wantIAMError(t, "DeleteUser with an inline policy", e.s.DeleteUser(ctx, root, "Alice"), "DeleteConflict", "Cannot delete entity, must delete policies first.")
	must(t, "DeleteInlinePolicy", e.s.DeleteInlinePolicy(ctx, root, storage.EntityUser, "Alice", "p"))
	_, err = e.s.CreateGroup(ctx, root, "devs", "")
	must(t, "CreateGroup", err)
	must(t, "AddUserToGroup", e.s.AddUserToGroup(ctx, root, "devs", "Alice"))
	wantIAMError(t, "DeleteUser in a group", e.s.DeleteUser(ctx, root, "Alice"), "DeleteConflict", "Cannot delete entity, must remove users from group first.")
	must(t, "RemoveUserFromGroup", e.s.RemoveUserFromGroup(ctx, root, "devs", "Alice"))
	k, err := e.s.CreateAccessKey(ctx, root, "Alice")
	must(t, "CreateAccessKey", err)
	wantIAMError(t, "DeleteUser with a key", e.s.DeleteUser(ctx, root, "Alice"), "DeleteConflict", "Cannot delete entity, must delete access keys first.")
	must(t, "DeleteAccessKey", e.s.DeleteAccessKey(ctx, root, "Alice", k.ID))
	must(t, "DeleteUser", e.s.DeleteUser(ctx, root, "Alice"))
	wantIAMError(t, "DeleteUser twice", e.s.DeleteUser(ctx, root, "Alice"), "NoSuchEntity", "The user with name Alice cannot be found.")
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	g, err := e.s.CreateGroup(ctx, root, "Devs", "/eng/")
	must(t, "CreateGroup", err)
	if g.ARN != "arn:aws:iam::"+acctA+":group/eng/Devs" || !strings.HasPrefix(g.ID, "AGPA") || len(g.ID) != 21 {
		t.Errorf("CreateGroup: %+v", g)
	}
	_, err = e.s.CreateGroup(ctx, root, "devs", "")
	wantIAMError(t, "CreateGroup taken", err, "EntityAlreadyExists", "Group with name devs already exists.")
	for _, n := range []string{"carol", "alice"} {
		_, err := e.s.CreateUser(ctx, root, n, "", nil)
		must(t, "CreateUser", err)
		must(t, "AddUserToGroup", e.s.AddUserToGroup(ctx, root, "devs", n))
	}
	must(t, "AddUserToGroup twice", e.s.AddUserToGroup(ctx, root, "DEVS", "alice"))
	wantIAMError(t, "AddUserToGroup of a missing user", e.s.AddUserToGroup(ctx, root, "devs", "nobody"), "NoSuchEntity", "The user with name nobody cannot be found.")
	wantIAMError(t, "AddUserToGroup to a missing group", e.s.AddUserToGroup(ctx, root, "ops", "alice"), "NoSuchEntity", "The group with name ops cannot be found.")

	_, users, err := e.s.GetGroup(ctx, root, "devs")
	must(t, "GetGroup", err)
	if len(users) != 2 || users[0].Name != "alice" || users[1].Name != "carol" {
		t.Errorf("GetGroup users: %v", users)
	}
	gs, err := e.s.ListGroupsForUser(ctx, root, "alice")
	must(t, "ListGroupsForUser", err)
	if len(gs) != 1 || gs[0].Name != "Devs" {
		t.Errorf("ListGroupsForUser: %v", gs)
	}
	wantIAMError(t, "DeleteGroup with members", e.s.DeleteGroup(ctx, root, "devs"), "DeleteConflict", "Cannot delete entity, must remove users from group first.")
	must(t, "Remove alice", e.s.RemoveUserFromGroup(ctx, root, "devs", "alice"))
	must(t, "Remove carol", e.s.RemoveUserFromGroup(ctx, root, "devs", "carol"))
	wantIAMError(t, "RemoveUserFromGroup of a non-member", e.s.RemoveUserFromGroup(ctx, root, "devs", "carol"), "NoSuchEntity", "")
	must(t, "PutGroupPolicy", e.s.PutInlinePolicy(ctx, root, storage.EntityGroup, "devs", "p", allowAll))
	wantIAMError(t, "DeleteGroup with a policy", e.s.DeleteGroup(ctx, root, "devs"), "DeleteConflict", "Cannot delete entity, must delete policies first.")
	must(t, "DeleteGroupPolicy", e.s.DeleteInlinePolicy(ctx, root, storage.EntityGroup, "devs", "p"))
	must(t, "DeleteGroup", e.s.DeleteGroup(ctx, root, "devs"))
	list, err := e.s.ListGroups(ctx, root, "")
	must(t, "ListGroups", err)
	if len(list) != 0 {
		t.Errorf("ListGroups after delete: %v", list)
	}
}

const trustAccount = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`

func TestRoles(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	r, err := e.s.CreateRole(ctx, root, RoleInput{Name: "deploy", Path: "/ci/", AssumeRolePolicyDocument: trustAccount, Description: "d", Tags: []Tag{{"a", "b"}}})
	must(t, "CreateRole", err)
	if r.ARN != "arn:aws:iam::"+acctA+":role/ci/deploy" || !strings.HasPrefix(r.ID, "AROA") || r.MaxSessionDuration != 3600 {
		t.Errorf("CreateRole: %+v", r)
	}
	_, err = e.s.CreateRole(ctx, root, RoleInput{Name: "Deploy", AssumeRolePolicyDocument: trustAccount})
	wantIAMError(t, "CreateRole taken", err, "EntityAlreadyExists", "Role with name Deploy already exists.")
	_, err = e.s.CreateRole(ctx, root, RoleInput{Name: "x", AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`})
	wantIAMError(t, "CreateRole with a trust policy without Principal", err, "MalformedPolicyDocument", "")
	_, err = e.s.CreateRole(ctx, root, RoleInput{Name: "x", AssumeRolePolicyDocument: trustAccount, MaxSessionDuration: 100})
	wantIAMError(t, "CreateRole with a short MaxSessionDuration", err, "ValidationError",
		"1 validation error detected: Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600")
	big := `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("x", 2100) + `","Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
	_, err = e.s.CreateRole(ctx, root, RoleInput{Name: "x", AssumeRolePolicyDocument: big})
	wantIAMError(t, "CreateRole with a large trust policy", err, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")

	got, err := e.s.GetRole(ctx, root, "DEPLOY")
	must(t, "GetRole", err)
	if got.AssumeRolePolicyDocument != trustAccount || got.Description != "d" || got.ID != r.ID {
		t.Errorf("GetRole: %+v", got)
	}
	_, err = e.s.GetRole(ctx, root, "nope")
	wantIAMError(t, "GetRole missing", err, "NoSuchEntity", "The role with name nope cannot be found.")
	const other = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}]}`
	must(t, "UpdateAssumeRolePolicy", e.s.UpdateAssumeRolePolicy(ctx, root, "deploy", other))
	if got, _ := e.s.GetRole(ctx, root, "deploy"); got.AssumeRolePolicyDocument != other {
		t.Errorf("trust policy after update: %s", got.AssumeRolePolicyDocument)
	}
	must(t, "TagRole", e.s.TagRole(ctx, root, "deploy", []Tag{{"c", "d"}}))
	must(t, "UntagRole", e.s.UntagRole(ctx, root, "deploy", []string{"a"}))
	if tags, _ := e.s.ListRoleTags(ctx, root, "deploy"); fmt.Sprint(tags) != "[{c d}]" {
		t.Errorf("ListRoleTags: %v", tags)
	}
	roles, err := e.s.ListRoles(ctx, root, "/ci/")
	must(t, "ListRoles", err)
	if len(roles) != 1 {
		t.Errorf("ListRoles: %v", roles)
	}
	must(t, "PutRolePolicy", e.s.PutInlinePolicy(ctx, root, storage.EntityRole, "deploy", "p", allowAll))
	doc, err := e.s.GetInlinePolicy(ctx, root, storage.EntityRole, "deploy", "p")
	if err != nil || doc != allowAll {
		t.Errorf("GetRolePolicy: %q, %v", doc, err)
	}
	_, err = e.s.GetInlinePolicy(ctx, root, storage.EntityRole, "deploy", "q")
	wantIAMError(t, "GetRolePolicy missing", err, "NoSuchEntity", "The role policy with name q cannot be found.")
	wantIAMError(t, "DeleteRole with a policy", e.s.DeleteRole(ctx, root, "deploy"), "DeleteConflict", "Cannot delete entity, must delete policies first.")
	must(t, "DeleteRolePolicy", e.s.DeleteInlinePolicy(ctx, root, storage.EntityRole, "deploy", "p"))
	must(t, "DeleteRole", e.s.DeleteRole(ctx, root, "deploy"))
}

func TestManagedPolicies(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	p, err := e.s.CreatePolicy(ctx, root, PolicyInput{Name: "ReadAll", Path: "/team/", Document: allowAll, Description: "all"})
	must(t, "CreatePolicy", err)
	arn := "arn:aws:iam::" + acctA + ":policy/team/ReadAll"
	if p.ARN != arn || p.DefaultVersionID != "v1" || !strings.HasPrefix(p.ID, "ANPA") {
		t.Errorf("CreatePolicy: %+v", p)
	}
	_, err = e.s.CreatePolicy(ctx, root, PolicyInput{Name: "readall", Document: allowAll})
	wantIAMError(t, "CreatePolicy taken", err, "EntityAlreadyExists", "A policy called readall already exists. Duplicate names are not allowed.")
	_, err = e.s.CreatePolicy(ctx, root, PolicyInput{Name: "bad", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}`})
	wantIAMError(t, "CreatePolicy with a Principal", err, "MalformedPolicyDocument", "")
	big := `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("x", 6200) + `","Effect":"Allow","Action":"*","Resource":"*"}]}`
	_, err = e.s.CreatePolicy(ctx, root, PolicyInput{Name: "big", Document: big})
	wantIAMError(t, "CreatePolicy too large", err, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
	_, err = e.s.GetPolicy(ctx, root, "arn:aws:iam::"+acctA+":policy/Missing")
	wantIAMError(t, "GetPolicy missing", err, "NoSuchEntity", "Policy arn:aws:iam::"+acctA+":policy/Missing was not found.")
	_, err = e.s.GetPolicy(ctx, root, "arn:aws:iam::"+acctA+":policy/ReadAll") // wrong path
	wantIAMError(t, "GetPolicy with another path", err, "NoSuchEntity", "")

	for i := 2; i <= 5; i++ {
		v, err := e.s.CreatePolicyVersion(ctx, root, arn, allowAll, i == 3)
		must(t, "CreatePolicyVersion", err)
		if v.VersionID != fmt.Sprintf("v%d", i) || v.IsDefault != (i == 3) {
			t.Errorf("CreatePolicyVersion %d: %+v", i, v)
		}
	}
	_, err = e.s.CreatePolicyVersion(ctx, root, arn, allowAll, false)
	wantIAMError(t, "sixth version", err, "LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
	vs, err := e.s.ListPolicyVersions(ctx, root, arn)
	must(t, "ListPolicyVersions", err)
	if len(vs) != 5 || vs[0].VersionID != "v5" || !vs[2].IsDefault {
		t.Errorf("ListPolicyVersions: %v", vs)
	}
	got, err := e.s.GetPolicy(ctx, root, arn)
	must(t, "GetPolicy", err)
	if got.DefaultVersionID != "v3" {
		t.Errorf("default version %s, want v3", got.DefaultVersionID)
	}
	_, err = e.s.GetPolicyVersion(ctx, root, arn, "v9")
	wantIAMError(t, "GetPolicyVersion missing", err, "NoSuchEntity", "Policy "+arn+" version v9 does not exist or is not attachable.")

	// Attachments.
	_, err = e.s.CreateUser(ctx, root, "alice", "", nil)
	must(t, "CreateUser", err)
	must(t, "AttachUserPolicy", e.s.AttachPolicy(ctx, root, storage.EntityUser, "alice", arn))
	must(t, "AttachUserPolicy twice", e.s.AttachPolicy(ctx, root, storage.EntityUser, "alice", arn))
	missing := "arn:aws:iam::" + acctA + ":policy/Nope"
	wantIAMError(t, "AttachUserPolicy of a missing policy", e.s.AttachPolicy(ctx, root, storage.EntityUser, "alice", missing),
		"NoSuchEntity", "Policy "+missing+" does not exist or is not attachable.")
	got, _ = e.s.GetPolicy(ctx, root, arn)
	if got.AttachmentCount != 1 {
		t.Errorf("AttachmentCount %d, want 1", got.AttachmentCount)
	}
	attached, err := e.s.ListAttachedPolicies(ctx, root, storage.EntityUser, "alice", "")
	must(t, "ListAttachedUserPolicies", err)
	if len(attached) != 1 || attached[0].Name != "ReadAll" || attached[0].ARN != arn {
		t.Errorf("ListAttachedUserPolicies: %v", attached)
	}
	onlyAttached, _ := e.s.ListPolicies(ctx, root, "", true)
	if len(onlyAttached) != 1 {
		t.Errorf("ListPolicies onlyAttached: %v", onlyAttached)
	}
	wantIAMError(t, "DeleteUser with an attached policy", e.s.DeleteUser(ctx, root, "alice"), "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	wantIAMError(t, "DeletePolicy attached", e.s.DeletePolicy(ctx, root, arn), "DeleteConflict", "Cannot delete a policy attached to entities.")

	// Ten attached policies at most.
	for i := range 9 {
		q, err := e.s.CreatePolicy(ctx, root, PolicyInput{Name: fmt.Sprintf("p%d", i), Document: allowAll})
		must(t, "CreatePolicy", err)
		must(t, "AttachUserPolicy", e.s.AttachPolicy(ctx, root, storage.EntityUser, "alice", q.ARN))
	}
	q, err := e.s.CreatePolicy(ctx, root, PolicyInput{Name: "eleventh", Document: allowAll})
	must(t, "CreatePolicy", err)
	wantIAMError(t, "eleventh attachment", e.s.AttachPolicy(ctx, root, storage.EntityUser, "alice", q.ARN), "LimitExceeded", "Cannot exceed quota for PoliciesPerUser: 10")

	must(t, "DetachUserPolicy", e.s.DetachPolicy(ctx, root, storage.EntityUser, "alice", arn))
	wantIAMError(t, "DetachUserPolicy twice", e.s.DetachPolicy(ctx, root, storage.EntityUser, "alice", arn), "NoSuchEntity", "Policy "+arn+" was not found.")
	wantIAMError(t, "DeletePolicy with versions", e.s.DeletePolicy(ctx, root, arn), "DeleteConflict", "")
	wantIAMError(t, "DeletePolicyVersion of the default", e.s.DeletePolicyVersion(ctx, root, arn, "v3"), "DeleteConflict", "Cannot delete the default version of a policy.")
	for _, v := range []string{"v1", "v2", "v4", "v5"} {
		must(t, "DeletePolicyVersion "+v, e.s.DeletePolicyVersion(ctx, root, arn, v))
	}
	must(t, "DeletePolicy", e.s.DeletePolicy(ctx, root, arn))
	_, err = e.s.GetPolicy(ctx, root, arn)
	wantIAMError(t, "GetPolicy after delete", err, "NoSuchEntity", "")
}

func TestInlinePolicyLimits(t *testing.T) {
	e := newEnv(t)
	ctx, root := t.Context(), e.rootOf(acctA)
	_, err := e.s.CreateUser(ctx, root, "alice", "", nil)
	must(t, "CreateUser", err)
	doc := func(n int) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("x", n) + `","Effect":"Allow","Action":"*","Resource":"*"}]}`
	}
	// Whitespace does not count.
	spaced := strings.ReplaceAll(doc(1000), ",", ",          ")
	must(t, "PutUserPolicy of 1000 with spaces", e.s.PutInlinePolicy(ctx, root, storage.EntityUser, "alice", "one", spaced))
	// The quota is on the sum of the user's inline policies.
	wantIAMError(t, "PutUserPolicy over the total", e.s.PutInlinePolicy(ctx, root, storage.EntityUser, "alice", "two", doc(1000)),
		"LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user alice")
	// Replacing a policy counts its new size only.
	must(t, "replace", e.s.PutInlinePolicy(ctx, root, storage.EntityUser, "alice", "one", doc(1900)))
	wantIAMError(t, "PutUserPolicy malformed", e.s.PutInlinePolicy(ctx, root, storage.EntityUser, "alice", "bad", `{"Statement":`),
		"MalformedPolicyDocument", "")
	names, err := e.s.ListInlinePolicies(ctx, root, storage.EntityUser, "alice")
	if err != nil || fmt.Sprint(names) != "[one]" {
		t.Errorf("ListUserPolicies: %v, %v", names, err)
	}
	// A role has room for 10240.
	_, err = e.s.CreateRole(ctx, root, RoleInput{Name: "r", AssumeRolePolicyDocument: trustAccount})
	must(t, "CreateRole", err)
	must(t, "PutRolePolicy", e.s.PutInlinePolicy(ctx, root, storage.EntityRole, "r", "big", doc(5000)))
}

func TestCreateAccount(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	id, keyID, secret, err := e.s.CreateAccount(ctx, "")
	must(t, "CreateAccount", err)
	if ValidateAccountID(id) != nil || !strings.HasPrefix(keyID, "AKIA") || len(secret) != 40 {
		t.Errorf("CreateAccount: %s %s", id, keyID)
	}
	cred, err := e.s.LookupAccessKey(ctx, keyID, "")
	must(t, "LookupAccessKey", err)
	if cred.Secret() != secret || cred.Principal.ARN != "arn:aws:iam::"+id+":root" || cred.Principal.Kind != KindRoot {
		t.Errorf("root key of a new account: %+v", cred.Principal)
	}
	_, _, _, err = e.s.CreateAccount(ctx, acctA)
	wantIAMError(t, "CreateAccount of an existing id", err, "EntityAlreadyExists", "")
	_, _, _, err = e.s.CreateAccount(ctx, "12")
	wantIAMError(t, "CreateAccount of a bad id", err, "ValidationError", "")
}
