package awsapi

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/secrets"
	"github.com/coffer-dev/coffer/internal/storage/sqlite"
)

// newTestHandler builds a Handler over the real iam and secrets services
// on a temporary SQLite store, with the STS tests' identity as the
// account's root key. now is the clock of the handler and of iam (nil: the
// real one). (iam.Credential keeps its secret unexported, so a fake could
// not supply one.)
func newTestHandler(t *testing.T, now func() time.Time) *Handler {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	ctx := context.Background()
	dir := t.TempDir()
	root, err := seal.OpenKeyFile(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "coffer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ids := iam.New(store, root, "aws", now)
	if _, err := ids.EnsureRoot(ctx, stsTestAccount, stsTestKeyID, stsTestSecret); err != nil {
		t.Fatal(err)
	}
	svc := secrets.New(secrets.Config{Store: store, Root: root, Partition: "aws"})
	return New(Config{Secrets: svc, IAM: ids, Now: now})
}

// newQueryTestServer serves newTestHandler's handler.
func newQueryTestServer(t *testing.T, now func() time.Time) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newTestHandler(t, now))
	t.Cleanup(srv.Close)
	return srv
}

// The random parts of IAM's answers, replaced before comparing documents.
var (
	entityIDRE = regexp.MustCompile(`\b(AIDA|AGPA|AROA|ANPA)[A-Z0-9]{8,}`)
	markerRE   = regexp.MustCompile(`<Marker>[^<]+</Marker>`)
)

// iamCall signs body for "iam" at signedAt with the given key (default the
// root's) and returns the status and the document with the request id,
// entity ids and markers normalized.
func iamCall(t *testing.T, srv *httptest.Server, signedAt time.Time, body string, key ...string) (int, string) {
	t.Helper()
	spec := stsCallSpec{service: "iam", body: body, signedAt: signedAt}
	if len(key) == 2 {
		spec.keyID, spec.secret = key[0], key[1]
	}
	resp, doc := doSTS(t, srv, spec)
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type %q, want text/xml", ct)
	}
	m := requestIDRE.FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no RequestId in\n%s", doc)
	}
	if got := resp.Header.Get("x-amzn-RequestId"); got != m[1] {
		t.Errorf("x-amzn-RequestId %q, body says %q", got, m[1])
	}
	doc = strings.Replace(doc, m[1], "REQID", 1)
	doc = entityIDRE.ReplaceAllString(doc, "${1}EXAMPLE")
	doc = markerRE.ReplaceAllString(doc, "<Marker>MARKER</Marker>")
	return resp.StatusCode, doc
}

func iamDoc(action, result string) string {
	s := `<` + action + `Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/">` + "\n"
	if result != "" {
		s += "  <" + action + "Result>\n" + result + "  </" + action + "Result>\n"
	}
	return s + "  <ResponseMetadata>\n    <RequestId>REQID</RequestId>\n  </ResponseMetadata>\n</" + action + "Response>\n"
}

func iamErrorDoc(typ, code, msg string) string {
	return `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>` + typ + `</Type>
    <Code>` + code + `</Code>
    <Message>` + msg + `</Message>
  </Error>
  <RequestId>REQID</RequestId>
</ErrorResponse>
`
}

// form builds a Query request body.
func form(action string, kv ...string) string {
	v := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

const testPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:prod/app/*"}]}`

// TestIAMWire checks the exact documents of a sequence of IAM calls, with
// a fixed clock so that dates are known.
func TestIAMWire(t *testing.T) {
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := newQueryTestServer(t, func() time.Time { return clock })

	trust := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}`
	steps := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"CreateUser", form("CreateUser", "UserName", "alice", "Path", "/eng/",
			"Tags.member.1.Key", "team", "Tags.member.1.Value", "core"), 200,
			iamDoc("CreateUser", `    <User>
      <Path>/eng/</Path>
      <UserName>alice</UserName>
      <UserId>AIDAEXAMPLE</UserId>
      <Arn>arn:aws:iam::123456789012:user/eng/alice</Arn>
      <CreateDate>2025-01-01T00:00:00Z</CreateDate>
      <Tags>
        <member>
          <Key>team</Key>
          <Value>core</Value>
        </member>
      </Tags>
    </User>
`)},
		{"CreateUser without tags", form("CreateUser", "UserName", "bob"), 200,
			iamDoc("CreateUser", `    <User>
      <Path>/</Path>
      <UserName>bob</UserName>
      <UserId>AIDAEXAMPLE</UserId>
      <Arn>arn:aws:iam::123456789012:user/bob</Arn>
      <CreateDate>2025-01-01T00:00:00Z</CreateDate>
    </User>
`)},
		{"CreateUser without UserName", form("CreateUser"), 400,
			iamErrorDoc("Sender", "ValidationError",
				"1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null")},
		{"unknown action", form("CreateLoginProfile", "UserName", "bob"), 400,
			iamErrorDoc("Sender", "InvalidAction", "Could not find operation CreateLoginProfile for version 2010-05-08")},
		{"wrong version", "Action=ListUsers&Version=2011-06-15", 400,
			iamErrorDoc("Sender", "InvalidAction", "Could not find operation ListUsers for version 2011-06-15")},
		{"CreateUser taken", form("CreateUser", "UserName", "alice"), 409,
			iamErrorDoc("Sender", "EntityAlreadyExists", "User with name alice already exists.")},
		{"GetUser unknown", form("GetUser", "UserName", "nobody"), 404,
			iamErrorDoc("Sender", "NoSuchEntity", "The user with name nobody cannot be found.")},
		{"ListUsers first page", form("ListUsers", "MaxItems", "1"), 200,
			iamDoc("ListUsers", `    <Users>
      <member>
        <Path>/eng/</Path>
        <UserName>alice</UserName>
        <UserId>AIDAEXAMPLE</UserId>
        <Arn>arn:aws:iam::123456789012:user/eng/alice</Arn>
        <CreateDate>2025-01-01T00:00:00Z</CreateDate>
      </member>
    </Users>
    <IsTruncated>true</IsTruncated>
    <Marker>MARKER</Marker>
`)},
		{"ListUsers by path", form("ListUsers", "PathPrefix", "/nothing/"), 200,
			iamDoc("ListUsers", "    <Users/>\n    <IsTruncated>false</IsTruncated>\n")},
		{"PutUserPolicy", form("PutUserPolicy", "UserName", "alice", "PolicyName", "read-prod",
			"PolicyDocument", testPolicy), 200, iamDoc("PutUserPolicy", "")},
		{"GetUserPolicy", form("GetUserPolicy", "UserName", "alice", "PolicyName", "read-prod"), 200,
			iamDoc("GetUserPolicy", `    <UserName>alice</UserName>
    <PolicyName>read-prod</PolicyName>
    <PolicyDocument>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22secretsmanager%3AGetSecretValue%22%2C%22Resource%22%3A%22arn%3Aaws%3Asecretsmanager%3A%2A%3A%2A%3Asecret%3Aprod%2Fapp%2F%2A%22%7D%5D%7D</PolicyDocument>
`)},
		{"ListUserPolicies", form("ListUserPolicies", "UserName", "alice"), 200,
			iamDoc("ListUserPolicies", `    <PolicyNames>
      <member>read-prod</member>
    </PolicyNames>
    <IsTruncated>false</IsTruncated>
`)},
		{"CreateRole", form("CreateRole", "RoleName", "app", "AssumeRolePolicyDocument", trust,
			"Description", "the app's role"), 200,
			iamDoc("CreateRole", `    <Role>
      <Path>/</Path>
      <RoleName>app</RoleName>
      <RoleId>AROAEXAMPLE</RoleId>
      <Arn>arn:aws:iam::123456789012:role/app</Arn>
      <CreateDate>2025-01-01T00:00:00Z</CreateDate>
      <AssumeRolePolicyDocument>%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Allow%22%2C%20%22Principal%22%3A%20%7B%22AWS%22%3A%20%22arn%3Aaws%3Aiam%3A%3A123456789012%3Aroot%22%7D%2C%20%22Action%22%3A%20%22sts%3AAssumeRole%22%7D%5D%7D</AssumeRolePolicyDocument>
      <Description>the app's role</Description>
      <MaxSessionDuration>3600</MaxSessionDuration>
    </Role>
`)},
		{"CreateGroup", form("CreateGroup", "GroupName", "devs"), 200,
			iamDoc("CreateGroup", `    <Group>
      <Path>/</Path>
      <GroupName>devs</GroupName>
      <GroupId>AGPAEXAMPLE</GroupId>
      <Arn>arn:aws:iam::123456789012:group/devs</Arn>
      <CreateDate>2025-01-01T00:00:00Z</CreateDate>
    </Group>
`)},
		{"AddUserToGroup", form("AddUserToGroup", "GroupName", "devs", "UserName", "bob"), 200, iamDoc("AddUserToGroup", "")},
		{"GetGroup", form("GetGroup", "GroupName", "devs"), 200,
			iamDoc("GetGroup", `    <Group>
      <Path>/</Path>
      <GroupName>devs</GroupName>
      <GroupId>AGPAEXAMPLE</GroupId>
      <Arn>arn:aws:iam::123456789012:group/devs</Arn>
      <CreateDate>2025-01-01T00:00:00Z</CreateDate>
    </Group>
    <Users>
      <member>
        <Path>/</Path>
        <UserName>bob</UserName>
        <UserId>AIDAEXAMPLE</UserId>
        <Arn>arn:aws:iam::123456789012:user/bob</Arn>
        <CreateDate>2025-01-01T00:00:00Z</CreateDate>
      </member>
    </Users>
    <IsTruncated>false</IsTruncated>
`)},
		{"DeleteUser in a group", form("DeleteUser", "UserName", "bob"), 409, ""},
		{"RemoveUserFromGroup", form("RemoveUserFromGroup", "GroupName", "devs", "UserName", "bob"), 200, iamDoc("RemoveUserFromGroup", "")},
		{"DeleteUser", form("DeleteUser", "UserName", "bob"), 200, iamDoc("DeleteUser", "")},
		{"CreatePolicy", form("CreatePolicy", "PolicyName", "read-prod", "PolicyDocument", testPolicy,
			"Description", "not answered by CreatePolicy"), 200,
			iamDoc("CreatePolicy", `    <Policy>
      <PolicyName>read-prod</PolicyName>
      <PolicyId>ANPAEXAMPLE</PolicyId>
      <Arn>arn:aws:iam::123456789012:policy/read-prod</Arn>
      <Path>/</Path>
      <DefaultVersionId>v1</DefaultVersionId>
      <AttachmentCount>0</AttachmentCount>
      <PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount>
      <IsAttachable>true</IsAttachable>
      <CreateDate>2025-01-01T00:00:00Z</CreateDate>
      <UpdateDate>2025-01-01T00:00:00Z</UpdateDate>
    </Policy>
`)},
		{"AttachRolePolicy", form("AttachRolePolicy", "RoleName", "app", "PolicyArn", "arn:aws:iam::123456789012:policy/read-prod"),
			200, iamDoc("AttachRolePolicy", "")},
		{"ListAttachedRolePolicies", form("ListAttachedRolePolicies", "RoleName", "app"), 200,
			iamDoc("ListAttachedRolePolicies", `    <AttachedPolicies>
      <member>
        <PolicyName>read-prod</PolicyName>
        <PolicyArn>arn:aws:iam::123456789012:policy/read-prod</PolicyArn>
      </member>
    </AttachedPolicies>
    <IsTruncated>false</IsTruncated>
`)},
		{"GetPolicyVersion", form("GetPolicyVersion", "PolicyArn", "arn:aws:iam::123456789012:policy/read-prod", "VersionId", "v1"), 200,
			iamDoc("GetPolicyVersion", `    <PolicyVersion>
      <Document>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22secretsmanager%3AGetSecretValue%22%2C%22Resource%22%3A%22arn%3Aaws%3Asecretsmanager%3A%2A%3A%2A%3Asecret%3Aprod%2Fapp%2F%2A%22%7D%5D%7D</Document>
      <VersionId>v1</VersionId>
      <IsDefaultVersion>true</IsDefaultVersion>
      <CreateDate>2025-01-01T00:00:00Z</CreateDate>
    </PolicyVersion>
`)},
		{"SimulatePrincipalPolicy", form("SimulatePrincipalPolicy", "PolicySourceArn", "arn:aws:iam::123456789012:user/eng/alice",
			"ActionNames.member.1", "secretsmanager:GetSecretValue", "ActionNames.member.2", "secretsmanager:DeleteSecret",
			"ResourceArns.member.1", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf"), 200,
			iamDoc("SimulatePrincipalPolicy", `    <EvaluationResults>
      <member>
        <EvalActionName>secretsmanager:GetSecretValue</EvalActionName>
        <EvalResourceName>arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf</EvalResourceName>
        <EvalDecision>allowed</EvalDecision>
        <MatchedStatements>
          <member>
            <SourcePolicyId>read-prod</SourcePolicyId>
            <SourcePolicyType>user</SourcePolicyType>
          </member>
        </MatchedStatements>
        <MissingContextValues/>
      </member>
      <member>
        <EvalActionName>secretsmanager:DeleteSecret</EvalActionName>
        <EvalResourceName>arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf</EvalResourceName>
        <EvalDecision>implicitDeny</EvalDecision>
        <MatchedStatements/>
        <MissingContextValues/>
      </member>
    </EvaluationResults>
    <IsTruncated>false</IsTruncated>
`)},
		{"PermissionsBoundary refused", form("CreateUser", "UserName", "carol",
			"PermissionsBoundary", "arn:aws:iam::123456789012:policy/read-prod"), 400,
			iamErrorDoc("Sender", "InvalidInput", "coffer does not support the parameter PermissionsBoundary.")},
	}
	for _, step := range steps {
		status, doc := iamCall(t, srv, clock, step.body)
		if status != step.status {
			t.Errorf("%s: status %d, want %d\n%s", step.name, status, step.status, doc)
			continue
		}
		if step.want != "" && doc != step.want {
			t.Errorf("%s: got\n%s\nwant\n%s", step.name, doc, step.want)
		}
	}
}

// iamResult extracts the text of the first element called name.
func iamResult(t *testing.T, doc, name string) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no <%s> in\n%s", name, doc)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == name {
			var s string
			if err := d.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
}

// TestIAMWithSDK drives every IAM action coffer serves with aws-sdk-go-v2's
// IAM client: the real deserializers must read every answer.
func TestIAMWithSDK(t *testing.T) {
	srv := newQueryTestServer(t, nil)
	ctx := context.Background()
	c := iamsdk.New(iamsdk.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(stsTestKeyID, stsTestSecret, ""),
		RetryMaxAttempts: 1,
	})
	must := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// Users and tags.
	u, err := c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("alice"),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	must("CreateUser", err)
	if aws.ToString(u.User.Arn) != "arn:aws:iam::123456789012:user/alice" || !strings.HasPrefix(aws.ToString(u.User.UserId), "AIDA") ||
		u.User.CreateDate == nil || len(u.User.Tags) != 1 {
		t.Errorf("CreateUser: %+v", u.User)
	}
	for _, name := range []string{"u1", "u2", "u3", "u4"} {
		_, err := c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String(name), Path: aws.String("/batch/")})
		must("CreateUser "+name, err)
	}
	var names []string
	pager := iamsdk.NewListUsersPaginator(c, &iamsdk.ListUsersInput{PathPrefix: aws.String("/batch/"), MaxItems: aws.Int32(3)})
	pages := 0
	for pager.HasMorePages() {
		out, err := pager.NextPage(ctx)
		must("ListUsers", err)
		pages++
		for _, u := range out.Users {
			names = append(names, aws.ToString(u.UserName))
		}
	}
	if strings.Join(names, ",") != "u1,u2,u3,u4" || pages != 2 {
		t.Errorf("ListUsers pages: %d, %q", pages, names)
	}
	_, err = c.TagUser(ctx, &iamsdk.TagUserInput{UserName: aws.String("alice"),
		Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	must("TagUser", err)
	_, err = c.UntagUser(ctx, &iamsdk.UntagUserInput{UserName: aws.String("alice"), TagKeys: []string{"team"}})
	must("UntagUser", err)
	tags, err := c.ListUserTags(ctx, &iamsdk.ListUserTagsInput{UserName: aws.String("alice")})
	must("ListUserTags", err)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "env" || tags.IsTruncated {
		t.Errorf("ListUserTags: %+v", tags.Tags)
	}
	gu, err := c.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("alice")})
	must("GetUser", err)
	if aws.ToString(gu.User.UserId) != aws.ToString(u.User.UserId) || len(gu.User.Tags) != 1 {
		t.Errorf("GetUser: %+v", gu.User)
	}

	// Access keys.
	k, err := c.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("alice")})
	must("CreateAccessKey", err)
	if !strings.HasPrefix(aws.ToString(k.AccessKey.AccessKeyId), "AKIA") || len(aws.ToString(k.AccessKey.SecretAccessKey)) < 40 ||
		k.AccessKey.Status != iamtypes.StatusTypeActive || aws.ToString(k.AccessKey.UserName) != "alice" {
		t.Errorf("CreateAccessKey: id %q, status %q, user %q", aws.ToString(k.AccessKey.AccessKeyId), k.AccessKey.Status,
			aws.ToString(k.AccessKey.UserName))
	}
	_, err = c.UpdateAccessKey(ctx, &iamsdk.UpdateAccessKeyInput{UserName: aws.String("alice"),
		AccessKeyId: k.AccessKey.AccessKeyId, Status: iamtypes.StatusTypeInactive})
	must("UpdateAccessKey", err)
	keys, err := c.ListAccessKeys(ctx, &iamsdk.ListAccessKeysInput{UserName: aws.String("alice")})
	must("ListAccessKeys", err)
	if len(keys.AccessKeyMetadata) != 1 || keys.AccessKeyMetadata[0].Status != iamtypes.StatusTypeInactive {
		t.Errorf("ListAccessKeys: %+v", keys.AccessKeyMetadata)
	}
	_, err = c.DeleteAccessKey(ctx, &iamsdk.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKey.AccessKeyId})
	must("DeleteAccessKey", err)

	// Inline policies of users, groups and roles.
	_, err = c.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("alice"),
		PolicyName: aws.String("p"), PolicyDocument: aws.String(testPolicy)})
	must("PutUserPolicy", err)
	up, err := c.GetUserPolicy(ctx, &iamsdk.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p")})
	must("GetUserPolicy", err)
	if doc, err := url.QueryUnescape(aws.ToString(up.PolicyDocument)); err != nil || doc != testPolicy {
		t.Errorf("GetUserPolicy document %q", aws.ToString(up.PolicyDocument))
	}
	_, err = c.CreateGroup(ctx, &iamsdk.CreateGroupInput{GroupName: aws.String("devs")})
	must("CreateGroup", err)
	_, err = c.AddUserToGroup(ctx, &iamsdk.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")})
	must("AddUserToGroup", err)
	gfu, err := c.ListGroupsForUser(ctx, &iamsdk.ListGroupsForUserInput{UserName: aws.String("alice")})
	must("ListGroupsForUser", err)
	if len(gfu.Groups) != 1 || aws.ToString(gfu.Groups[0].GroupName) != "devs" {
		t.Errorf("ListGroupsForUser: %+v", gfu.Groups)
	}
	_, err = c.PutGroupPolicy(ctx, &iamsdk.PutGroupPolicyInput{GroupName: aws.String("devs"),
		PolicyName: aws.String("gp"), PolicyDocument: aws.String(testPolicy)})
	must("PutGroupPolicy", err)
	gps, err := c.ListGroupPolicies(ctx, &iamsdk.ListGroupPoliciesInput{GroupName: aws.String("devs")})
	must("ListGroupPolicies", err)
	if len(gps.PolicyNames) != 1 || gps.PolicyNames[0] != "gp" {
		t.Errorf("ListGroupPolicies: %q", gps.PolicyNames)
	}
	gp, err := c.GetGroupPolicy(ctx, &iamsdk.GetGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("gp")})
	must("GetGroupPolicy", err)
	if aws.ToString(gp.GroupName) != "devs" {
		t.Errorf("GetGroupPolicy: %+v", gp)
	}
	groups, err := c.ListGroups(ctx, &iamsdk.ListGroupsInput{})
	must("ListGroups", err)
	if len(groups.Groups) != 1 {
		t.Errorf("ListGroups: %+v", groups.Groups)
	}
	g, err := c.GetGroup(ctx, &iamsdk.GetGroupInput{GroupName: aws.String("devs")})
	must("GetGroup", err)
	if len(g.Users) != 1 || aws.ToString(g.Users[0].UserName) != "alice" {
		t.Errorf("GetGroup users: %+v", g.Users)
	}

	// Roles.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}]}`
	r, err := c.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust),
		MaxSessionDuration: aws.Int32(7200), Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	must("CreateRole", err)
	if !strings.HasPrefix(aws.ToString(r.Role.RoleId), "AROA") {
		t.Errorf("CreateRole: %+v", r.Role)
	}
	gr, err := c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("app")})
	must("GetRole", err)
	if doc, _ := url.QueryUnescape(aws.ToString(gr.Role.AssumeRolePolicyDocument)); doc != trust ||
		aws.ToInt32(gr.Role.MaxSessionDuration) != 7200 || len(gr.Role.Tags) != 1 || gr.Role.RoleLastUsed == nil {
		t.Errorf("GetRole: %+v", gr.Role)
	}
	_, err = c.UpdateAssumeRolePolicy(ctx, &iamsdk.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(trust)})
	must("UpdateAssumeRolePolicy", err)
	_, err = c.TagRole(ctx, &iamsdk.TagRoleInput{RoleName: aws.String("app"), Tags: []iamtypes.Tag{{Key: aws.String("k2"), Value: aws.String("")}}})
	must("TagRole", err)
	_, err = c.UntagRole(ctx, &iamsdk.UntagRoleInput{RoleName: aws.String("app"), TagKeys: []string{"k"}})
	must("UntagRole", err)
	rt, err := c.ListRoleTags(ctx, &iamsdk.ListRoleTagsInput{RoleName: aws.String("app")})
	must("ListRoleTags", err)
	if len(rt.Tags) != 1 || aws.ToString(rt.Tags[0].Key) != "k2" || aws.ToString(rt.Tags[0].Value) != "" {
		t.Errorf("ListRoleTags: %+v", rt.Tags)
	}
	roles, err := c.ListRoles(ctx, &iamsdk.ListRolesInput{})
	must("ListRoles", err)
	if len(roles.Roles) != 1 || aws.ToString(roles.Roles[0].RoleName) != "app" {
		t.Errorf("ListRoles: %+v", roles.Roles)
	}
	_, err = c.PutRolePolicy(ctx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("app"),
		PolicyName: aws.String("rp"), PolicyDocument: aws.String(testPolicy)})
	must("PutRolePolicy", err)
	rp, err := c.GetRolePolicy(ctx, &iamsdk.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("rp")})
	must("GetRolePolicy", err)
	if doc, _ := url.QueryUnescape(aws.ToString(rp.PolicyDocument)); doc != testPolicy {
		t.Errorf("GetRolePolicy: %q", aws.ToString(rp.PolicyDocument))
	}
	rps, err := c.ListRolePolicies(ctx, &iamsdk.ListRolePoliciesInput{RoleName: aws.String("app")})
	must("ListRolePolicies", err)
	if len(rps.PolicyNames) != 1 {
		t.Errorf("ListRolePolicies: %q", rps.PolicyNames)
	}
	ips, err := c.ListInstanceProfilesForRole(ctx, &iamsdk.ListInstanceProfilesForRoleInput{RoleName: aws.String("app")})
	must("ListInstanceProfilesForRole", err)
	if len(ips.InstanceProfiles) != 0 {
		t.Errorf("ListInstanceProfilesForRole: %+v", ips.InstanceProfiles)
	}

	// Managed policies.
	mp, err := c.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("mp"), PolicyDocument: aws.String(testPolicy),
		Description: aws.String("managed")})
	must("CreatePolicy", err)
	arn := mp.Policy.Arn
	if aws.ToString(arn) != "arn:aws:iam::123456789012:policy/mp" || aws.ToString(mp.Policy.DefaultVersionId) != "v1" {
		t.Errorf("CreatePolicy: %+v", mp.Policy)
	}
	for _, attach := range []func() error{
		func() error {
			_, err := c.AttachUserPolicy(ctx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: arn})
			return err
		},
		func() error {
			_, err := c.AttachGroupPolicy(ctx, &iamsdk.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: arn})
			return err
		},
		func() error {
			_, err := c.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: arn})
			return err
		},
	} {
		must("Attach*Policy", attach())
	}
	au, err := c.ListAttachedUserPolicies(ctx, &iamsdk.ListAttachedUserPoliciesInput{UserName: aws.String("alice")})
	must("ListAttachedUserPolicies", err)
	ag, err := c.ListAttachedGroupPolicies(ctx, &iamsdk.ListAttachedGroupPoliciesInput{GroupName: aws.String("devs")})
	must("ListAttachedGroupPolicies", err)
	ar, err := c.ListAttachedRolePolicies(ctx, &iamsdk.ListAttachedRolePoliciesInput{RoleName: aws.String("app")})
	must("ListAttachedRolePolicies", err)
	if len(au.AttachedPolicies) != 1 || len(ag.AttachedPolicies) != 1 || len(ar.AttachedPolicies) != 1 ||
		aws.ToString(ar.AttachedPolicies[0].PolicyArn) != aws.ToString(arn) {
		t.Errorf("ListAttached*Policies: %d %d %d", len(au.AttachedPolicies), len(ag.AttachedPolicies), len(ar.AttachedPolicies))
	}
	gpol, err := c.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: arn})
	must("GetPolicy", err)
	if aws.ToInt32(gpol.Policy.AttachmentCount) != 3 || aws.ToString(gpol.Policy.Description) != "managed" {
		t.Errorf("GetPolicy: count %d, description %q", aws.ToInt32(gpol.Policy.AttachmentCount), aws.ToString(gpol.Policy.Description))
	}
	// Versions, on a policy of their own.
	vp, err := c.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("versioned"), PolicyDocument: aws.String(testPolicy)})
	must("CreatePolicy versioned", err)
	v2, err := c.CreatePolicyVersion(ctx, &iamsdk.CreatePolicyVersionInput{PolicyArn: vp.Policy.Arn, PolicyDocument: aws.String(testPolicy), SetAsDefault: true})
	must("CreatePolicyVersion", err)
	if aws.ToString(v2.PolicyVersion.VersionId) != "v2" || !v2.PolicyVersion.IsDefaultVersion {
		t.Errorf("CreatePolicyVersion: %+v", v2.PolicyVersion)
	}
	versions, err := c.ListPolicyVersions(ctx, &iamsdk.ListPolicyVersionsInput{PolicyArn: vp.Policy.Arn})
	must("ListPolicyVersions", err)
	if len(versions.Versions) != 2 {
		t.Errorf("ListPolicyVersions: %+v", versions.Versions)
	}
	pv, err := c.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: vp.Policy.Arn, VersionId: aws.String("v2")})
	must("GetPolicyVersion", err)
	if doc, _ := url.QueryUnescape(aws.ToString(pv.PolicyVersion.Document)); doc != testPolicy || !pv.PolicyVersion.IsDefaultVersion {
		t.Errorf("GetPolicyVersion: %+v", pv.PolicyVersion)
	}
	_, err = c.SetDefaultPolicyVersion(ctx, &iamsdk.SetDefaultPolicyVersionInput{PolicyArn: vp.Policy.Arn, VersionId: aws.String("v1")})
	must("SetDefaultPolicyVersion", err)
	_, err = c.DeletePolicyVersion(ctx, &iamsdk.DeletePolicyVersionInput{PolicyArn: vp.Policy.Arn, VersionId: aws.String("v2")})
	must("DeletePolicyVersion", err)
	_, err = c.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: vp.Policy.Arn})
	must("DeletePolicy versioned", err)
	pols, err := c.ListPolicies(ctx, &iamsdk.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, OnlyAttached: true})
	must("ListPolicies", err)
	if len(pols.Policies) != 1 || aws.ToString(pols.Policies[0].Arn) != aws.ToString(arn) {
		t.Errorf("ListPolicies: %+v", pols.Policies)
	}
	awsPols, err := c.ListPolicies(ctx, &iamsdk.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeAws})
	must("ListPolicies AWS", err)
	if len(awsPols.Policies) != 0 {
		t.Errorf("ListPolicies Scope=AWS: %+v", awsPols.Policies)
	}
	_, err = c.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: arn})
	wantSDKError(t, err, "DeleteConflict", 409)

	// Simulation.
	sim, err := c.SimulatePrincipalPolicy(ctx, &iamsdk.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/alice"),
		ActionNames:     []string{"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"},
		ResourceArns:    []string{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf"},
		ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:SourceIp"),
			ContextKeyType: iamtypes.ContextKeyTypeEnumIp, ContextKeyValues: []string{"10.0.0.1"}}},
	})
	must("SimulatePrincipalPolicy", err)
	if len(sim.EvaluationResults) != 2 || sim.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed ||
		sim.EvaluationResults[1].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny ||
		len(sim.EvaluationResults[0].MatchedStatements) == 0 {
		t.Errorf("SimulatePrincipalPolicy: %+v", sim.EvaluationResults)
	}

	// Tear down in the order IAM requires.
	for _, step := range []struct {
		name string
		fn   func() error
	}{
		{"DetachUserPolicy", func() error {
			_, err := c.DetachUserPolicy(ctx, &iamsdk.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: arn})
			return err
		}},
		{"DetachGroupPolicy", func() error {
			_, err := c.DetachGroupPolicy(ctx, &iamsdk.DetachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: arn})
			return err
		}},
		{"DetachRolePolicy", func() error {
			_, err := c.DetachRolePolicy(ctx, &iamsdk.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: arn})
			return err
		}},
		{"DeletePolicy", func() error { _, err := c.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: arn}); return err }},
		{"DeleteUserPolicy", func() error {
			_, err := c.DeleteUserPolicy(ctx, &iamsdk.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p")})
			return err
		}},
		{"DeleteGroupPolicy", func() error {
			_, err := c.DeleteGroupPolicy(ctx, &iamsdk.DeleteGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("gp")})
			return err
		}},
		{"DeleteRolePolicy", func() error {
			_, err := c.DeleteRolePolicy(ctx, &iamsdk.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("rp")})
			return err
		}},
		{"RemoveUserFromGroup", func() error {
			_, err := c.RemoveUserFromGroup(ctx, &iamsdk.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")})
			return err
		}},
		{"DeleteGroup", func() error {
			_, err := c.DeleteGroup(ctx, &iamsdk.DeleteGroupInput{GroupName: aws.String("devs")})
			return err
		}},
		{"DeleteRole", func() error {
			_, err := c.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("app")})
			return err
		}},
		{"DeleteUser", func() error {
			_, err := c.DeleteUser(ctx, &iamsdk.DeleteUserInput{UserName: aws.String("alice")})
			return err
		}},
	} {
		must(step.name, step.fn())
	}
	_, err = c.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("alice")})
	wantSDKError(t, err, "NoSuchEntity", 404)
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("GetUser after DeleteUser: %T is not the modeled NoSuchEntityException", err)
	}
}

// wantSDKError checks an SDK call's error code and HTTP status.
func wantSDKError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status || re.ServiceRequestID() == "" {
		t.Errorf("%s: want HTTP %d with a request id, got %v", code, status, err)
	}
}

// TestIAMAuthorizationAndSTS runs the principal side: a user's key, its
// permissions, the role it may assume and the session's identity.
func TestIAMAuthorizationAndSTS(t *testing.T) {
	srv := newQueryTestServer(t, nil)
	ctx := context.Background()
	now := time.Now()
	root := func(body string) string {
		t.Helper()
		status, doc := iamCall(t, srv, now, body)
		if status != 200 {
			t.Fatalf("%s: %d\n%s", body, status, doc)
		}
		return doc
	}
	root(form("CreateUser", "UserName", "app"))
	_, doc := iamCall(t, srv, now, form("CreateAccessKey", "UserName", "app"))
	keyID, secret := iamResult(t, doc, "AccessKeyId"), iamResult(t, doc, "SecretAccessKey")
	userARN := "arn:aws:iam::123456789012:user/app"

	stsClient := func(id, secret, token string) *sts.Client {
		return sts.New(sts.Options{Region: stsTestRegion, BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)})
	}
	id, err := stsClient(keyID, secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != userARN || !strings.HasPrefix(aws.ToString(id.UserId), "AIDA") || aws.ToString(id.Account) != stsTestAccount {
		t.Errorf("user identity: %s %s %s", aws.ToString(id.Arn), aws.ToString(id.UserId), aws.ToString(id.Account))
	}

	// No IAM permissions: AccessDenied, 403, with IAM's message.
	status, doc := iamCall(t, srv, now, form("CreateUser", "UserName", "x"), keyID, secret)
	if status != 403 || iamResult(t, doc, "Code") != "AccessDenied" || !strings.Contains(iamResult(t, doc, "Message"),
		"User: "+userARN+" is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/x") {
		t.Errorf("CreateUser by a user without permissions: %d\n%s", status, doc)
	}

	// The role trusts the user (named in the trust policy, so no identity
	// policy is needed in the same account) when it gives the external id.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + userARN + `"},` +
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-123"}}}]}`
	root(form("CreateRole", "RoleName", "reader", "AssumeRolePolicyDocument", trust))
	roleARN := "arn:aws:iam::123456789012:role/reader"
	userSTS := stsClient(keyID, secret, "")
	for _, ext := range []*string{nil, aws.String("wrong-id")} {
		_, err := userSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), ExternalId: ext})
		wantSDKError(t, err, "AccessDenied", 403)
	}
	out, err := userSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"),
		ExternalId: aws.String("ext-123"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	creds := out.Credentials
	if !strings.HasPrefix(aws.ToString(creds.AccessKeyId), "ASIA") || aws.ToString(creds.SessionToken) == "" ||
		creds.Expiration == nil || creds.Expiration.Before(time.Now().Add(10*time.Minute)) || creds.Expiration.After(time.Now().Add(16*time.Minute)) {
		t.Errorf("credentials: id %q, expiration %v", aws.ToString(creds.AccessKeyId), creds.Expiration)
	}
	if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/reader/s1" ||
		!strings.HasPrefix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), "AROA") || out.PackedPolicySize != nil {
		t.Errorf("assumed role user: %+v, packed %v", out.AssumedRoleUser, out.PackedPolicySize)
	}
	sid, err := stsClient(aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken)).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(sid.Arn) != "arn:aws:sts::123456789012:assumed-role/reader/s1" ||
		aws.ToString(sid.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) || !strings.HasSuffix(aws.ToString(sid.UserId), ":s1") {
		t.Errorf("session identity: %s %s", aws.ToString(sid.Arn), aws.ToString(sid.UserId))
	}
	// A session policy: PackedPolicySize is answered.
	out, err = userSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s2"),
		ExternalId: aws.String("ext-123"), Policy: aws.String(testPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	if out.PackedPolicySize == nil {
		t.Error("no PackedPolicySize with a session policy")
	}

	// Model validation and refused parameters.
	_, err = userSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s"),
		DurationSeconds: aws.Int32(100)})
	wantSDKError(t, err, "ValidationError", 400)
	var ae smithy.APIError
	errors.As(err, &ae)
	if want := "2 validation errors detected: Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
		"Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"; ae.ErrorMessage() != want {
		t.Errorf("message %q\nwant %q", ae.ErrorMessage(), want)
	}
	_, err = userSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s3"),
		ExternalId: aws.String("ext-123"), SourceIdentity: aws.String("me")})
	wantSDKError(t, err, "ValidationError", 400)

	// An inactive key is refused by STS.
	root(form("UpdateAccessKey", "UserName", "app", "AccessKeyId", keyID, "Status", "Inactive"))
	_, err = stsClient(keyID, secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantSDKError(t, err, "InvalidClientTokenId", 403)
}

// TestQueryErrorsAreNotDescribed checks the error table: known domain codes
// keep their text, anything else is an undescribed 500.
func TestQueryErrorsAreNotDescribed(t *testing.T) {
	qe, known := iamQuery.toQueryError(errors.New("disk on fire at /var/lib/coffer"))
	if known || qe.Code != "ServiceFailure" || qe.Status != http.StatusInternalServerError || strings.Contains(qe.Message, "disk") {
		t.Errorf("unexpected error: %+v known=%v", qe, known)
	}
	qe, known = stsQuery.toQueryError(&iam.Error{Code: "SomethingNew", Message: "internal detail"})
	if known || qe.Code != "InternalFailure" || strings.Contains(qe.Message, "detail") {
		t.Errorf("unmapped domain code: %+v known=%v", qe, known)
	}
	for code, status := range map[string]int{"NoSuchEntity": 404, "EntityAlreadyExists": 409, "DeleteConflict": 409,
		"LimitExceeded": 409, "MalformedPolicyDocument": 400, "InvalidInput": 400, "ValidationError": 400, "AccessDenied": 403} {
		qe, known := iamQuery.toQueryError(&iam.Error{Code: code, Message: "m"})
		if !known || qe.Code != code || qe.Status != status || qe.Message != "m" {
			t.Errorf("%s: %+v", code, qe)
		}
	}
	for code, status := range map[string]int{"AccessDenied": 403, "ExpiredToken": 400, "PackedPolicyTooLarge": 400,
		"MalformedPolicyDocument": 400, "ValidationError": 400} {
		qe, known := stsQuery.toQueryError(&iam.Error{Code: code, Message: "m"})
		if !known || qe.Code != code || qe.Status != status {
			t.Errorf("sts %s: %+v", code, qe)
		}
	}
}

// TestAssumeRoleWire checks AssumeRole's exact document (with a fixed
// clock; the key, secret and token replaced).
func TestAssumeRoleWire(t *testing.T) {
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := newQueryTestServer(t, func() time.Time { return clock })
	for _, body := range []string{
		form("CreateUser", "UserName", "app"),
		form("CreateRole", "RoleName", "reader", "AssumeRolePolicyDocument",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/app"},"Action":"sts:AssumeRole"}]}`),
	} {
		if status, doc := iamCall(t, srv, clock, body); status != 200 {
			t.Fatalf("%d\n%s", status, doc)
		}
	}
	_, doc := iamCall(t, srv, clock, form("CreateAccessKey", "UserName", "app"))
	keyID, secret := iamResult(t, doc, "AccessKeyId"), iamResult(t, doc, "SecretAccessKey")

	resp, body := doSTS(t, srv, stsCallSpec{keyID: keyID, secret: secret, signedAt: clock,
		body: "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Freader" +
			"&RoleSessionName=s1&DurationSeconds=1800&Policy=" + url.QueryEscape(testPolicy)})
	if resp.StatusCode != 200 {
		t.Fatalf("AssumeRole: %d\n%s", resp.StatusCode, body)
	}
	for _, name := range []string{"AccessKeyId", "SecretAccessKey", "SessionToken", "PackedPolicySize"} {
		v := iamResult(t, body, name)
		if v == "" {
			t.Errorf("empty %s", name)
		}
		body = strings.Replace(body, ">"+v+"<", ">"+strings.ToUpper(name)+"<", 1)
	}
	body = entityIDRE.ReplaceAllString(body, "${1}EXAMPLE")
	checkSTSAnswer(t, resp, body, 200, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:s1</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/reader/s1</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ACCESSKEYID</AccessKeyId>
      <SecretAccessKey>SECRETACCESSKEY</SecretAccessKey>
      <SessionToken>SESSIONTOKEN</SessionToken>
      <Expiration>2025-01-01T00:30:00Z</Expiration>
    </Credentials>
    <PackedPolicySize>PACKEDPOLICYSIZE</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>REQID</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
`)
}

// TestQueryPanicIsContained checks that a bug costs one request: a handler
// without an iam service panics inside and answers an undescribed 500.
func TestQueryPanicIsContained(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	resp, body := doSTS(t, srv, stsCallSpec{service: "iam", body: form("ListUsers")})
	if resp.StatusCode != 500 || iamResult(t, body, "Code") != "ServiceFailure" || iamResult(t, body, "Type") != "Receiver" ||
		iamResult(t, body, "Message") != "An internal error occurred." {
		t.Errorf("%d\n%s", resp.StatusCode, body)
	}
	resp, body = doSTS(t, srv, stsCallSpec{})
	if resp.StatusCode != 500 || iamResult(t, body, "Code") != "InternalFailure" {
		t.Errorf("%d\n%s", resp.StatusCode, body)
	}
}
