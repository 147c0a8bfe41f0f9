package awsapi

// This file serves IAM (API version 2010-05-08) on the AWS Query protocol
// (query.go), so that `aws iam ... --endpoint-url`, the SDKs' IAM clients and
// Terraform's aws_iam_* resources administer coffer's users, groups, roles,
// access keys and policies. Requests are signed for the service "iam"; every
// action decodes and validates its members against the botocore model, calls
// one iam.Service method (which authorizes the caller: the account's root,
// or a principal whose policies allow iam:<Action>) and writes AWS's XML.
//
// Decisions for docs/COMPATIBILITY.md:
//
//   - Policy documents are answered URL-encoded (GetUserPolicy,
//     GetGroupPolicy, GetRolePolicy, GetPolicyVersion and the roles'
//     AssumeRolePolicyDocument), as IAM does; spaces are %20.
//   - ListUsers, ListRoles and GetGroup's Users carry no Tags, as AWS's list
//     operations; CreateUser/GetUser and CreateRole/GetRole do. GetRole
//     answers an empty <RoleLastUsed/>: coffer does not track role use.
//   - Description of a managed policy is answered by GetPolicy only (AWS's
//     CreatePolicy and ListPolicies leave it out). PermissionsBoundaryUsage-
//     Count is always 0 and IsAttachable always true.
//   - ListPolicies lists the account's customer managed policies: Scope=AWS
//     and PolicyUsageFilter=PermissionsBoundary answer an empty list (coffer
//     has no AWS managed policies and no permissions boundaries).
//   - CreateUser/CreateRole refuse PermissionsBoundary (InvalidInput "coffer
//     does not support the parameter PermissionsBoundary.").
//     SimulatePrincipalPolicy refuses PolicyInputList,
//     PermissionsBoundaryPolicyInputList, CallerArn and ResourceOwner the same
//     way, and ignores ResourceHandlingOption. Its MatchedStatements carry
//     SourcePolicyId and SourcePolicyType but no positions; the type is
//     "user-managed" for a managed policy's ARN, "resource" for the resource
//     policy and otherwise the kind of the simulated principal (user, group,
//     role).
//   - ListInstanceProfilesForRole answers an empty list for an existing role
//     (coffer has no instance profiles; Terraform calls it before deleting a
//     role). It is authorized as iam:GetRole on the role.
//   - SetDefaultPolicyVersion and DeletePolicyVersion are served too:
//     Terraform's aws_iam_policy deletes old versions on update and destroy.

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/policy"
)

const (
	iamService   = "iam"
	iamVersion   = "2010-05-08"
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
)

// iamQuery is IAM on the Query protocol.
var iamQuery = &queryService{
	name:        iamService,
	version:     iamVersion,
	namespace:   iamNamespace,
	eventSource: iamEventSource,
	internal:    "ServiceFailure",
	ops:         iamOps,
	statuses: map[string]int{
		"AccessDenied":                  http.StatusForbidden,
		"ConcurrentModification":        http.StatusConflict,
		"DeleteConflict":                http.StatusConflict,
		"EntityAlreadyExists":           http.StatusConflict,
		"EntityTemporarilyUnmodifiable": http.StatusConflict,
		"InvalidInput":                  http.StatusBadRequest,
		"LimitExceeded":                 http.StatusConflict,
		"MalformedPolicyDocument":       http.StatusBadRequest,
		"NoSuchEntity":                  http.StatusNotFound,
		"PolicyNotAttachable":           http.StatusBadRequest,
		"UnmodifiableEntity":            http.StatusBadRequest,
		"ValidationError":               http.StatusBadRequest,
	},
}

// The IAM model's constraints on the members these actions read.
var (
	namePattern      = `[\w+=,.@-]+`
	userNameRule     = newRule(1, 64, namePattern, namePattern)
	existingUserRule = newRule(1, 128, namePattern, namePattern)
	groupNameRule    = newRule(1, 128, namePattern, namePattern)
	roleNameRule     = newRule(1, 64, namePattern, namePattern)
	policyNameRule   = newRule(1, 128, namePattern, namePattern)
	pathRule         = newRule(1, 512, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`, `/|/[\x{21}-\x{7E}]+/`)
	pathPrefixRule   = newRule(1, 512, `\u002F[\u0021-\u007F]*`, `/[\x{21}-\x{7F}]*`)
	policyPathRule   = newRule(1, 512, `((/[A-Za-z0-9\.,\+@=_-]+)*)/`, `((/[A-Za-z0-9\.,\+@=_-]+)*)/`)
	documentRule     = newRule(1, 131072, `[\u0009\u000A\u000D\u0020-\u00FF]+`, `[\t\n\r\x{20}-\x{FF}]+`)
	arnRule          = newRule(20, 2048, "", "")
	accessKeyIDRule  = newRule(16, 128, `[\w]+`, `[\w]+`)
	statusRule       = newRule(0, 0, "", "", "Active", "Inactive", "Expired")
	policyDescRule   = newRule(0, 1000, "", "")
	roleDescRule     = newRule(0, 1000, `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`,
		`[\t\n\r\x{20}-\x{7E}\x{A1}-\x{FF}]*`)
	versionIDRule   = newRule(0, 0, `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`, `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	scopeRule       = newRule(0, 0, "", "", "All", "AWS", "Local")
	usageRule       = newRule(0, 0, "", "", "PermissionsPolicy", "PermissionsBoundary")
	actionNameRule  = newRule(3, 128, "", "")
	resourceRule    = newRule(1, 2048, "", "")
	contextKeyRule  = newRule(5, 256, "", "")
	contextTypeRule = newRule(0, 0, "", "", "string", "stringList", "numeric", "numericList", "boolean",
		"booleanList", "ip", "ipList", "binary", "binaryList", "date", "dateList")
	handlingRule = newRule(1, 64, "", "")
)

// entity is a kind of IAM entity that holds inline and attached policies.
type entity struct {
	kind   iam.EntityKind
	member string // the member naming it: UserName, GroupName, RoleName
	rule   *rule
}

var (
	userEntity  = entity{iam.EntityUser, "UserName", existingUserRule}
	groupEntity = entity{iam.EntityGroup, "GroupName", groupNameRule}
	roleEntity  = entity{iam.EntityRole, "RoleName", roleNameRule}
)

// iamOps is the table of IAM actions.
var iamOps = map[string]queryOp{
	// Users.
	"CreateUser":   createUser,
	"GetUser":      getUser,
	"ListUsers":    listUsers,
	"DeleteUser":   nameOp(userEntity.member, userEntity.rule, (*iam.Service).DeleteUser),
	"TagUser":      tagOp(userEntity, (*iam.Service).TagUser),
	"UntagUser":    untagOp(userEntity, (*iam.Service).UntagUser),
	"ListUserTags": listTagsOp(userEntity, (*iam.Service).ListUserTags),
	// Access keys.
	"CreateAccessKey": createAccessKey,
	"ListAccessKeys":  listAccessKeys,
	"UpdateAccessKey": updateAccessKey,
	"DeleteAccessKey": deleteAccessKey,
	// Inline policies.
	"PutUserPolicy":     putInlinePolicy(userEntity),
	"GetUserPolicy":     getInlinePolicy(userEntity),
	"DeleteUserPolicy":  deleteInlinePolicy(userEntity),
	"ListUserPolicies":  listInlinePolicies(userEntity),
	"PutGroupPolicy":    putInlinePolicy(groupEntity),
	"GetGroupPolicy":    getInlinePolicy(groupEntity),
	"DeleteGroupPolicy": deleteInlinePolicy(groupEntity),
	"ListGroupPolicies": listInlinePolicies(groupEntity),
	"PutRolePolicy":     putInlinePolicy(roleEntity),
	"GetRolePolicy":     getInlinePolicy(roleEntity),
	"DeleteRolePolicy":  deleteInlinePolicy(roleEntity),
	"ListRolePolicies":  listInlinePolicies(roleEntity),
	// Groups.
	"CreateGroup":         createGroup,
	"GetGroup":            getGroup,
	"ListGroups":          listGroups,
	"ListGroupsForUser":   listGroupsForUser,
	"DeleteGroup":         nameOp(groupEntity.member, groupEntity.rule, (*iam.Service).DeleteGroup),
	"AddUserToGroup":      addUserToGroup,
	"RemoveUserFromGroup": removeUserFromGroup,
	// Roles.
	"CreateRole":                  createRole,
	"GetRole":                     getRole,
	"ListRoles":                   listRoles,
	"DeleteRole":                  nameOp(roleEntity.member, roleEntity.rule, (*iam.Service).DeleteRole),
	"UpdateAssumeRolePolicy":      updateAssumeRolePolicy,
	"TagRole":                     tagOp(roleEntity, (*iam.Service).TagRole),
	"UntagRole":                   untagOp(roleEntity, (*iam.Service).UntagRole),
	"ListRoleTags":                listTagsOp(roleEntity, (*iam.Service).ListRoleTags),
	"ListInstanceProfilesForRole": listInstanceProfilesForRole,
	// Managed policies.
	"CreatePolicy":              createPolicy,
	"GetPolicy":                 getPolicy,
	"GetPolicyVersion":          getPolicyVersion,
	"CreatePolicyVersion":       createPolicyVersion,
	"ListPolicyVersions":        listPolicyVersions,
	"SetDefaultPolicyVersion":   setDefaultPolicyVersion,
	"DeletePolicyVersion":       deletePolicyVersion,
	"DeletePolicy":              nameOp("PolicyArn", arnRule, (*iam.Service).DeletePolicy),
	"ListPolicies":              listPolicies,
	"AttachUserPolicy":          attachPolicy(userEntity),
	"AttachGroupPolicy":         attachPolicy(groupEntity),
	"AttachRolePolicy":          attachPolicy(roleEntity),
	"DetachUserPolicy":          detachPolicy(userEntity),
	"DetachGroupPolicy":         detachPolicy(groupEntity),
	"DetachRolePolicy":          detachPolicy(roleEntity),
	"ListAttachedUserPolicies":  listAttachedPolicies(userEntity),
	"ListAttachedGroupPolicies": listAttachedPolicies(groupEntity),
	"ListAttachedRolePolicies":  listAttachedPolicies(roleEntity),
	// Simulation.
	"SimulatePrincipalPolicy": simulatePrincipalPolicy,
}

// pageOf cuts one page of items.
func pageOf[T any](pg paging, items []T) ([]T, string, error) {
	from, to, next, err := pg.page(len(items))
	if err != nil {
		return nil, "", err
	}
	return items[from:to], next, nil
}

// listAnswer answers a list action with one page of all: the list element
// name, each member's content written by item, then IsTruncated and Marker.
func listAnswer[T any](pg paging, all []T, name string, item func(*xmlWriter, T)) (func(*xmlWriter), error) {
	items, next, err := pageOf(pg, all)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) {
		w.list(name, len(items), func(i int) { item(w, items[i]) })
		w.truncation(next)
	}, nil
}

// done is the answer of an action without a result element.
func done(err error) (func(*xmlWriter), error) { return nil, err }

// nameOp is an action that reads one required member (an entity's name or
// a policy's ARN), calls fn with it and answers no result: DeleteUser,
// DeleteGroup, DeleteRole, DeletePolicy.
func nameOp(member string, r *rule, fn func(*iam.Service, context.Context, iam.Caller, string) error) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(member, r)
		if err := p.err(); err != nil {
			return nil, err
		}
		return done(fn(h.iam, ctx, c, name))
	}
}

// Tags of users and roles.

func tagOp(e entity, fn func(*iam.Service, context.Context, iam.Caller, string, []iam.Tag) error) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		tags := p.tags(true)
		if err := p.err(); err != nil {
			return nil, err
		}
		return done(fn(h.iam, ctx, c, name, tags))
	}
}

func untagOp(e entity, fn func(*iam.Service, context.Context, iam.Caller, string, []string) error) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		keys := p.strings("TagKeys", true, tagKeyRule)
		if err := p.err(); err != nil {
			return nil, err
		}
		return done(fn(h.iam, ctx, c, name, keys))
	}
}

func listTagsOp(e entity, fn func(*iam.Service, context.Context, iam.Caller, string) ([]iam.Tag, error)) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		pg := p.paging()
		if err := p.err(); err != nil {
			return nil, err
		}
		all, err := fn(h.iam, ctx, c, name)
		if err != nil {
			return nil, err
		}
		return listAnswer(pg, all, "Tags", writeTag)
	}
}

// Users.

func createUser(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.need("UserName", userNameRule)
	path := p.str("Path", pathRule)
	tags := p.tags(false)
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := p.unsupported("InvalidInput", "PermissionsBoundary"); err != nil {
		return nil, err
	}
	u, err := h.iam.CreateUser(ctx, c, name, path, tags)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writeUser(w, u) }, nil
}

func getUser(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.str("UserName", existingUserRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	u, err := h.iam.GetUser(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writeUser(w, u) }, nil
}

func listUsers(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	prefix := p.str("PathPrefix", pathPrefixRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	all, err := h.iam.ListUsers(ctx, c, prefix)
	if err != nil {
		return nil, err
	}
	return listAnswer(pg, all, "Users", writeListedUser)
}

// writeUser writes a User element, with its tags.
func writeUser(w *xmlWriter, u *iam.User) {
	w.start("User")
	writeUserFields(w, u, true)
	w.end("User")
}

func writeUserFields(w *xmlWriter, u *iam.User, withTags bool) {
	w.elem("Path", u.Path)
	w.elem("UserName", u.Name)
	w.elem("UserId", u.ID)
	w.elem("Arn", u.ARN)
	w.time("CreateDate", u.Created)
	if withTags {
		writeTags(w, u.Tags)
	}
}

// writeListedUser is a user as list operations answer it: without tags.
func writeListedUser(w *xmlWriter, u *iam.User) { writeUserFields(w, u, false) }

// writeTags writes an entity's Tags list, left out when empty.
func writeTags(w *xmlWriter, tags []iam.Tag) {
	if len(tags) > 0 {
		w.list("Tags", len(tags), func(i int) { writeTag(w, tags[i]) })
	}
}

func writeTag(w *xmlWriter, t iam.Tag) {
	w.elem("Key", t.Key)
	w.elem("Value", t.Value)
}

// Access keys.

func createAccessKey(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.str("UserName", existingUserRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	k, err := h.iam.CreateAccessKey(ctx, c, name)
	if err != nil {
		return nil, err
	}
	// The secret access key leaves only in this response body.
	return func(w *xmlWriter) {
		w.start("AccessKey")
		w.elem("UserName", k.UserName)
		w.elem("AccessKeyId", k.ID)
		w.elem("Status", k.Status)
		w.elem("SecretAccessKey", k.Secret)
		w.time("CreateDate", k.Created)
		w.end("AccessKey")
	}, nil
}

func listAccessKeys(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.str("UserName", existingUserRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	all, err := h.iam.ListAccessKeys(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return listAnswer(pg, all, "AccessKeyMetadata", func(w *xmlWriter, k *iam.AccessKey) {
		w.elem("UserName", k.UserName)
		w.elem("AccessKeyId", k.ID)
		w.elem("Status", k.Status)
		w.time("CreateDate", k.Created)
	})
}

func updateAccessKey(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.str("UserName", existingUserRule)
	id := p.need("AccessKeyId", accessKeyIDRule)
	status := p.need("Status", statusRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	return done(h.iam.UpdateAccessKey(ctx, c, name, id, status))
}

func deleteAccessKey(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.str("UserName", existingUserRule)
	id := p.need("AccessKeyId", accessKeyIDRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	return done(h.iam.DeleteAccessKey(ctx, c, name, id))
}

// Inline policies.

func putInlinePolicy(e entity) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		policyName := p.need("PolicyName", policyNameRule)
		doc := p.need("PolicyDocument", documentRule)
		if err := p.err(); err != nil {
			return nil, err
		}
		return done(h.iam.PutInlinePolicy(ctx, c, e.kind, name, policyName, doc))
	}
}

func getInlinePolicy(e entity) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		policyName := p.need("PolicyName", policyNameRule)
		if err := p.err(); err != nil {
			return nil, err
		}
		doc, err := h.iam.GetInlinePolicy(ctx, c, e.kind, name, policyName)
		if err != nil {
			return nil, err
		}
		return func(w *xmlWriter) {
			w.elem(e.member, name)
			w.elem("PolicyName", policyName)
			w.elem("PolicyDocument", urlEncodeDocument(doc))
		}, nil
	}
}

func deleteInlinePolicy(e entity) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		policyName := p.need("PolicyName", policyNameRule)
		if err := p.err(); err != nil {
			return nil, err
		}
		return done(h.iam.DeleteInlinePolicy(ctx, c, e.kind, name, policyName))
	}
}

func listInlinePolicies(e entity) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		pg := p.paging()
		if err := p.err(); err != nil {
			return nil, err
		}
		all, err := h.iam.ListInlinePolicies(ctx, c, e.kind, name)
		if err != nil {
			return nil, err
		}
		names, next, err := pageOf(pg, all)
		if err != nil {
			return nil, err
		}
		return func(w *xmlWriter) {
			w.stringList("PolicyNames", names)
			w.truncation(next)
		}, nil
	}
}

// Groups.

func createGroup(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.need("GroupName", groupNameRule)
	path := p.str("Path", pathRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	g, err := h.iam.CreateGroup(ctx, c, name, path)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writeGroup(w, g) }, nil
}

func getGroup(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.need("GroupName", groupNameRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	g, all, err := h.iam.GetGroup(ctx, c, name)
	if err != nil {
		return nil, err
	}
	users, next, err := pageOf(pg, all)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) {
		writeGroup(w, g)
		w.list("Users", len(users), func(i int) { writeListedUser(w, users[i]) })
		w.truncation(next)
	}, nil
}

func listGroups(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	prefix := p.str("PathPrefix", pathPrefixRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	all, err := h.iam.ListGroups(ctx, c, prefix)
	if err != nil {
		return nil, err
	}
	return listAnswer(pg, all, "Groups", writeGroupFields)
}

func listGroupsForUser(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.need("UserName", existingUserRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	all, err := h.iam.ListGroupsForUser(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return listAnswer(pg, all, "Groups", writeGroupFields)
}

func addUserToGroup(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	group := p.need("GroupName", groupNameRule)
	user := p.need("UserName", existingUserRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	return done(h.iam.AddUserToGroup(ctx, c, group, user))
}

func removeUserFromGroup(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	group := p.need("GroupName", groupNameRule)
	user := p.need("UserName", existingUserRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	return done(h.iam.RemoveUserFromGroup(ctx, c, group, user))
}

func writeGroup(w *xmlWriter, g *iam.Group) {
	w.start("Group")
	writeGroupFields(w, g)
	w.end("Group")
}

func writeGroupFields(w *xmlWriter, g *iam.Group) {
	w.elem("Path", g.Path)
	w.elem("GroupName", g.Name)
	w.elem("GroupId", g.ID)
	w.elem("Arn", g.ARN)
	w.time("CreateDate", g.Created)
}

// Roles.

func createRole(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	in := iam.RoleInput{
		Name:                     p.need("RoleName", roleNameRule),
		Path:                     p.str("Path", pathRule),
		AssumeRolePolicyDocument: p.need("AssumeRolePolicyDocument", documentRule),
		Description:              p.str("Description", roleDescRule),
		MaxSessionDuration:       p.integer("MaxSessionDuration", 3600, 43200),
		Tags:                     p.tags(false),
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := p.unsupported("InvalidInput", "PermissionsBoundary"); err != nil {
		return nil, err
	}
	r, err := h.iam.CreateRole(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writeRole(w, r, true, false) }, nil
}

func getRole(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.need("RoleName", roleNameRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	r, err := h.iam.GetRole(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writeRole(w, r, true, true) }, nil
}

func listRoles(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	prefix := p.str("PathPrefix", pathPrefixRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	all, err := h.iam.ListRoles(ctx, c, prefix)
	if err != nil {
		return nil, err
	}
	return listAnswer(pg, all, "Roles", func(w *xmlWriter, r *iam.Role) { writeRoleFields(w, r, false, false) })
}

func updateAssumeRolePolicy(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.need("RoleName", roleNameRule)
	doc := p.need("PolicyDocument", documentRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	return done(h.iam.UpdateAssumeRolePolicy(ctx, c, name, doc))
}

// listInstanceProfilesForRole answers that an existing role has no
// instance profiles (coffer has none).
func listInstanceProfilesForRole(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	name := p.need("RoleName", roleNameRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	if _, err := h.iam.GetRole(ctx, c, name); err != nil {
		return nil, err
	}
	if _, _, _, err := pg.page(0); err != nil {
		return nil, err
	}
	return func(w *xmlWriter) {
		w.empty("InstanceProfiles")
		w.truncation("")
	}, nil
}

func writeRole(w *xmlWriter, r *iam.Role, withTags, lastUsed bool) {
	w.start("Role")
	writeRoleFields(w, r, withTags, lastUsed)
	w.end("Role")
}

func writeRoleFields(w *xmlWriter, r *iam.Role, withTags, lastUsed bool) {
	w.elem("Path", r.Path)
	w.elem("RoleName", r.Name)
	w.elem("RoleId", r.ID)
	w.elem("Arn", r.ARN)
	w.time("CreateDate", r.Created)
	w.elem("AssumeRolePolicyDocument", urlEncodeDocument(r.AssumeRolePolicyDocument))
	if r.Description != "" {
		w.elem("Description", r.Description)
	}
	if r.MaxSessionDuration > 0 {
		w.int("MaxSessionDuration", r.MaxSessionDuration)
	}
	if withTags {
		writeTags(w, r.Tags)
	}
	if lastUsed {
		w.empty("RoleLastUsed")
	}
}

// Managed policies.

func createPolicy(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	in := iam.PolicyInput{
		Name:        p.need("PolicyName", policyNameRule),
		Path:        p.str("Path", policyPathRule),
		Document:    p.need("PolicyDocument", documentRule),
		Description: p.str("Description", policyDescRule),
		Tags:        p.tags(false),
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	mp, err := h.iam.CreatePolicy(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writePolicy(w, mp, false) }, nil
}

func getPolicy(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	arn := p.need("PolicyArn", arnRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	mp, err := h.iam.GetPolicy(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writePolicy(w, mp, true) }, nil
}

func getPolicyVersion(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	arn := p.need("PolicyArn", arnRule)
	id := p.need("VersionId", versionIDRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	v, err := h.iam.GetPolicyVersion(ctx, c, arn, id)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writePolicyVersion(w, v, true) }, nil
}

func createPolicyVersion(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	arn := p.need("PolicyArn", arnRule)
	doc := p.need("PolicyDocument", documentRule)
	setDefault := p.boolean("SetAsDefault")
	if err := p.err(); err != nil {
		return nil, err
	}
	v, err := h.iam.CreatePolicyVersion(ctx, c, arn, doc, setDefault)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) { writePolicyVersion(w, v, false) }, nil
}

func listPolicyVersions(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	arn := p.need("PolicyArn", arnRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	all, err := h.iam.ListPolicyVersions(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	return listAnswer(pg, all, "Versions", func(w *xmlWriter, v *iam.PolicyVersion) { writePolicyVersionFields(w, v, false) })
}

func setDefaultPolicyVersion(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	arn := p.need("PolicyArn", arnRule)
	id := p.need("VersionId", versionIDRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	return done(h.iam.SetDefaultPolicyVersion(ctx, c, arn, id))
}

func deletePolicyVersion(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	arn := p.need("PolicyArn", arnRule)
	id := p.need("VersionId", versionIDRule)
	if err := p.err(); err != nil {
		return nil, err
	}
	return done(h.iam.DeletePolicyVersion(ctx, c, arn, id))
}

func listPolicies(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	scope := p.str("Scope", scopeRule)
	onlyAttached := p.boolean("OnlyAttached")
	prefix := p.str("PathPrefix", policyPathRule)
	usage := p.str("PolicyUsageFilter", usageRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	all, err := h.iam.ListPolicies(ctx, c, prefix, onlyAttached)
	if err != nil {
		return nil, err
	}
	if scope == "AWS" || usage == "PermissionsBoundary" {
		all = nil // no AWS managed policies, no permissions boundaries
	}
	return listAnswer(pg, all, "Policies", func(w *xmlWriter, mp *iam.ManagedPolicy) { writePolicyFields(w, mp, false) })
}

func attachPolicy(e entity) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		arn := p.need("PolicyArn", arnRule)
		if err := p.err(); err != nil {
			return nil, err
		}
		return done(h.iam.AttachPolicy(ctx, c, e.kind, name, arn))
	}
}

func detachPolicy(e entity) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		arn := p.need("PolicyArn", arnRule)
		if err := p.err(); err != nil {
			return nil, err
		}
		return done(h.iam.DetachPolicy(ctx, c, e.kind, name, arn))
	}
}

func listAttachedPolicies(e entity) queryOp {
	return func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
		name := p.need(e.member, e.rule)
		prefix := p.str("PathPrefix", policyPathRule)
		pg := p.paging()
		if err := p.err(); err != nil {
			return nil, err
		}
		all, err := h.iam.ListAttachedPolicies(ctx, c, e.kind, name, prefix)
		if err != nil {
			return nil, err
		}
		return listAnswer(pg, all, "AttachedPolicies", func(w *xmlWriter, a iam.AttachedPolicy) {
			w.elem("PolicyName", a.Name)
			w.elem("PolicyArn", a.ARN)
		})
	}
}

func writePolicy(w *xmlWriter, mp *iam.ManagedPolicy, description bool) {
	w.start("Policy")
	writePolicyFields(w, mp, description)
	if description {
		writeTags(w, mp.Tags)
	}
	w.end("Policy")
}

func writePolicyFields(w *xmlWriter, mp *iam.ManagedPolicy, description bool) {
	w.elem("PolicyName", mp.Name)
	w.elem("PolicyId", mp.ID)
	w.elem("Arn", mp.ARN)
	w.elem("Path", mp.Path)
	w.elem("DefaultVersionId", mp.DefaultVersionID)
	w.int("AttachmentCount", mp.AttachmentCount)
	w.int("PermissionsBoundaryUsageCount", 0)
	w.bool("IsAttachable", true)
	if description && mp.Description != "" {
		w.elem("Description", mp.Description)
	}
	w.time("CreateDate", mp.Created)
	w.time("UpdateDate", mp.Updated)
}

func writePolicyVersion(w *xmlWriter, v *iam.PolicyVersion, withDoc bool) {
	w.start("PolicyVersion")
	writePolicyVersionFields(w, v, withDoc)
	w.end("PolicyVersion")
}

func writePolicyVersionFields(w *xmlWriter, v *iam.PolicyVersion, withDoc bool) {
	if withDoc {
		w.elem("Document", urlEncodeDocument(v.Document))
	}
	w.elem("VersionId", v.VersionID)
	w.bool("IsDefaultVersion", v.IsDefault)
	w.time("CreateDate", v.Created)
}

// Simulation.

func simulatePrincipalPolicy(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	in := iam.SimulateInput{
		PolicySourceARN: p.need("PolicySourceArn", arnRule),
		ActionNames:     p.strings("ActionNames", true, actionNameRule),
		ResourceARNs:    p.strings("ResourceArns", false, resourceRule),
		ResourcePolicy:  p.str("ResourcePolicy", documentRule),
		ContextEntries:  p.contextEntries(),
	}
	p.str("ResourceHandlingOption", handlingRule)
	pg := p.paging()
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := p.unsupported("InvalidInput", "PolicyInputList", "PermissionsBoundaryPolicyInputList",
		"CallerArn", "ResourceOwner"); err != nil {
		return nil, err
	}
	all, err := h.iam.SimulatePrincipalPolicy(ctx, c, in)
	if err != nil {
		return nil, err
	}
	sourceType := entityTypeOf(in.PolicySourceARN)
	return listAnswer(pg, all, "EvaluationResults", func(w *xmlWriter, r iam.SimulateResult) {
		w.elem("EvalActionName", r.Action)
		w.elem("EvalResourceName", r.Resource)
		w.elem("EvalDecision", r.Decision)
		w.list("MatchedStatements", len(r.Matched), func(j int) {
			w.elem("SourcePolicyId", r.Matched[j].Policy)
			w.elem("SourcePolicyType", sourcePolicyType(r.Matched[j], sourceType))
		})
		w.empty("MissingContextValues")
	})
}

// contextEntries reads SimulatePrincipalPolicy's ContextEntries.
func (p *params) contextEntries() []iam.ContextEntry {
	n, _ := p.listLen("ContextEntries")
	var out []iam.ContextEntry
	for i := 1; i <= n; i++ {
		idx := strconv.Itoa(i)
		prefix := "ContextEntries.member." + idx + "."
		path := "contextEntries." + idx + ".member."
		e := iam.ContextEntry{}
		if v, ok := p.raw(prefix + "ContextKeyName"); ok {
			p.check(path+"contextKeyName", v, contextKeyRule)
			e.Key = v
		}
		if v, ok := p.raw(prefix + "ContextKeyType"); ok {
			p.check(path+"contextKeyType", v, contextTypeRule)
			e.Type = v
		}
		e.Values = p.strings(prefix+"ContextKeyValues", false, nil)
		out = append(out, e)
	}
	return out
}

// entityTypeOf returns "user", "group" or "role" for an IAM ARN of one.
func entityTypeOf(arn string) string {
	for _, t := range []string{"user", "group", "role"} {
		if strings.Contains(arn, ":"+t+"/") {
			return t
		}
	}
	return "none"
}

// sourcePolicyType is a matched statement's SourcePolicyType.
func sourcePolicyType(m policy.Match, principalType string) string {
	switch {
	case strings.HasPrefix(m.Policy, "arn:") && strings.Contains(m.Policy, ":iam::aws:policy/"):
		return "aws-managed"
	case strings.HasPrefix(m.Policy, "arn:"):
		return "user-managed"
	case m.Policy == "resource-policy":
		return "resource"
	}
	return principalType
}
