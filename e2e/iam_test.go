package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// iamClient returns an aws-sdk-go-v2 IAM client for the server.
func (s *server) iamClient(keyID, secret string) *iam.Client {
	return iam.New(iam.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// sessionSTSClient returns an STS client signing with temporary credentials.
func (s *server) sessionSTSClient(keyID, secret, token string) *sts.Client {
	return sts.New(sts.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, token),
		RetryMaxAttempts: 1,
	})
}

// awsRunner runs the aws CLI against a server with a given identity.
type awsRunner struct {
	t   *testing.T
	cli string
	s   *server
}

// env returns the CLI's environment for credentials (root when keyID is "").
func (a awsRunner) env(keyID, secret, token string) []string {
	env := clientEnv(a.s)
	if keyID != "" {
		env = append(env, "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)
	}
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	return env
}

// ok runs the CLI, which must succeed, and decodes its JSON output into out
// (when not nil). Failure reports print stderr only: stdout may carry a
// secret access key.
func (a awsRunner) ok(out any, env []string, args ...string) {
	a.t.Helper()
	cmd := exec.Command(a.cli, append([]string{"--endpoint-url", a.s.URL, "--output", "json"}, args...)...)
	cmd.Env = env
	b, err := cmd.Output()
	if err != nil {
		a.t.Fatalf("aws %s: %v\n%s", strings.Join(args[:2], " "), err, stderrOf(err))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("aws %s: output is not JSON: %v", strings.Join(args[:2], " "), err)
		}
	}
}

// fails runs the CLI, which must fail, and returns what it printed.
func (a awsRunner) fails(env []string, args ...string) string {
	a.t.Helper()
	cmd := exec.Command(a.cli, append([]string{"--endpoint-url", a.s.URL}, args...)...)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	if err == nil {
		a.t.Fatalf("aws %s succeeded, want a failure", strings.Join(args[:2], " "))
	}
	return string(b)
}

// TestIAMAndSTSWithCLIAndSDK is the administrator's workflow with the real
// aws CLI and aws-sdk-go-v2: root creates a user with a key and a policy,
// the key authenticates as the user, lacks IAM permissions, assumes a role
// that requires an external id, and stops working once deactivated.
func TestIAMAndSTSWithCLIAndSDK(t *testing.T) {
	a := awsRunner{t: t, cli: need(t, "/usr/bin/aws", "aws"), s: startServer(t, "")}
	s := a.s
	// A fresh deadline for each SDK call: the CLI calls between them are slow.
	cx := func() context.Context { return ctx(t) }
	root := a.env("", "", "")
	const userARN = "arn:aws:iam::" + testAccount + ":user/app"

	// Root creates the user, its access key and an inline policy.
	var user struct {
		User struct{ UserName, UserId, Arn, Path string }
	}
	a.ok(&user, root, "iam", "create-user", "--user-name", "app")
	if user.User.Arn != userARN || !strings.HasPrefix(user.User.UserId, "AIDA") || user.User.Path != "/" {
		t.Errorf("create-user: %+v", user.User)
	}
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey, Status, UserName string }
	}
	a.ok(&key, root, "iam", "create-access-key", "--user-name", "app")
	keyID, secret := key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey
	if !strings.HasPrefix(keyID, "AKIA") || len(secret) != 40 || key.AccessKey.Status != "Active" || key.AccessKey.UserName != "app" {
		t.Fatalf("create-access-key: id %q, status %q, user %q, secret of %d characters",
			keyID, key.AccessKey.Status, key.AccessKey.UserName, len(secret))
	}
	const readProd = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue",` +
		`"Resource":"arn:aws:secretsmanager:*:*:secret:prod/app/*"}]}`
	a.ok(nil, root, "iam", "put-user-policy", "--user-name", "app", "--policy-name", "read-prod", "--policy-document", readProd)
	// The CLI URL-decodes the document IAM answers and prints it as JSON.
	var got struct {
		UserName, PolicyName string
		PolicyDocument       map[string]any
	}
	a.ok(&got, root, "iam", "get-user-policy", "--user-name", "app", "--policy-name", "read-prod")
	var want map[string]any
	_ = json.Unmarshal([]byte(readProd), &want)
	gotDoc, _ := json.Marshal(got.PolicyDocument)
	wantDoc, _ := json.Marshal(want)
	if got.UserName != "app" || got.PolicyName != "read-prod" || string(gotDoc) != string(wantDoc) {
		t.Errorf("get-user-policy: %s %s %s", got.UserName, got.PolicyName, gotDoc)
	}
	var users struct{ Users []struct{ UserName string } }
	a.ok(&users, root, "iam", "list-users")
	if len(users.Users) != 1 || users.Users[0].UserName != "app" {
		t.Errorf("list-users: %+v", users.Users)
	}

	// The user's key authenticates as the user, with the CLI and the SDK.
	userEnv := a.env(keyID, secret, "")
	var id struct{ UserId, Account, Arn string }
	a.ok(&id, userEnv, "sts", "get-caller-identity")
	if id.Arn != userARN || id.UserId != user.User.UserId || id.Account != testAccount {
		t.Errorf("get-caller-identity as the user: %+v", id)
	}
	sid, err := s.stsClient(keyID, secret).GetCallerIdentity(cx(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(sid.Arn) != userARN || aws.ToString(sid.UserId) != user.User.UserId {
		t.Errorf("SDK GetCallerIdentity as the user: %s %s", aws.ToString(sid.Arn), aws.ToString(sid.UserId))
	}

	// The user has no IAM permissions.
	const denied = "User: " + userARN + " is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::" +
		testAccount + ":user/intruder"
	out := a.fails(userEnv, "iam", "create-user", "--user-name", "intruder")
	if !strings.Contains(out, "An error occurred (AccessDenied) when calling the CreateUser operation: "+denied) {
		t.Errorf("create-user as the user:\n%s", out)
	}
	_, err = s.iamClient(keyID, secret).CreateUser(cx(), &iam.CreateUserInput{UserName: aws.String("intruder")})
	wantAPIError(t, err, "AccessDenied", "")
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Errorf("CreateUser as the user: want HTTP 403, got %v", err)
	}

	// A role the user may assume with the right external id.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + userARN + `"},` +
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-7f3a"}}}]}`
	var role struct {
		Role struct{ RoleName, RoleId, Arn string }
	}
	a.ok(&role, root, "iam", "create-role", "--role-name", "reader", "--assume-role-policy-document", trust)
	roleARN := "arn:aws:iam::" + testAccount + ":role/reader"
	if role.Role.Arn != roleARN || !strings.HasPrefix(role.Role.RoleId, "AROA") {
		t.Errorf("create-role: %+v", role.Role)
	}
	for _, extra := range [][]string{nil, {"--external-id", "ext-wrong"}} {
		args := append([]string{"sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "cli"}, extra...)
		out := a.fails(userEnv, args...)
		if !strings.Contains(out, "An error occurred (AccessDenied) when calling the AssumeRole operation: ") {
			t.Errorf("assume-role %v:\n%s", extra, out)
		}
	}
	var assumed struct {
		Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
		AssumedRoleUser struct{ AssumedRoleId, Arn string }
	}
	a.ok(&assumed, userEnv, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "cli", "--external-id", "ext-7f3a")
	const sessionARN = "arn:aws:sts::" + testAccount + ":assumed-role/reader/cli"
	if assumed.AssumedRoleUser.Arn != sessionARN || !strings.HasPrefix(assumed.Credentials.AccessKeyId, "ASIA") {
		t.Errorf("assume-role: %+v, key %q", assumed.AssumedRoleUser, assumed.Credentials.AccessKeyId)
	}
	c := assumed.Credentials
	a.ok(&id, a.env(c.AccessKeyId, c.SecretAccessKey, c.SessionToken), "sts", "get-caller-identity")
	if id.Arn != sessionARN || id.UserId != assumed.AssumedRoleUser.AssumedRoleId || !strings.HasSuffix(id.UserId, ":cli") {
		t.Errorf("get-caller-identity of the session: %+v", id)
	}

	// The same with the SDK.
	userSTS := s.stsClient(keyID, secret)
	_, err = userSTS.AssumeRole(cx(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sdk")})
	wantAPIError(t, err, "AccessDenied", "")
	_, err = userSTS.AssumeRole(cx(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sdk"),
		ExternalId: aws.String("ext-wrong")})
	wantAPIError(t, err, "AccessDenied", "")
	ar, err := userSTS.AssumeRole(cx(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sdk"),
		ExternalId: aws.String("ext-7f3a")})
	if err != nil {
		t.Fatal(err)
	}
	sc := ar.Credentials
	sid, err = s.sessionSTSClient(aws.ToString(sc.AccessKeyId), aws.ToString(sc.SecretAccessKey), aws.ToString(sc.SessionToken)).
		GetCallerIdentity(cx(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(sid.Arn) != "arn:aws:sts::"+testAccount+":assumed-role/reader/sdk" {
		t.Errorf("SDK session identity: %s", aws.ToString(sid.Arn))
	}

	// Root's SDK IAM client sees the same state.
	rootIAM := s.iamClient(testKeyID, testSecretKey)
	keys, err := rootIAM.ListAccessKeys(cx(), &iam.ListAccessKeysInput{UserName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.AccessKeyMetadata) != 1 || aws.ToString(keys.AccessKeyMetadata[0].AccessKeyId) != keyID {
		t.Errorf("ListAccessKeys: %+v", keys.AccessKeyMetadata)
	}

	// A deactivated key is refused everywhere.
	a.ok(nil, root, "iam", "update-access-key", "--user-name", "app", "--access-key-id", keyID, "--status", "Inactive")
	_, err = s.clientWith(testRegion, keyID, secret).ListSecrets(cx(), &secretsmanager.ListSecretsInput{})
	wantAPIError(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	_, err = s.stsClient(keyID, secret).GetCallerIdentity(cx(), &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
	out = a.fails(userEnv, "sts", "get-caller-identity")
	if !strings.Contains(out, "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation") {
		t.Errorf("get-caller-identity with an inactive key:\n%s", out)
	}

	// Nothing of the secret access key or the session token reached the logs.
	for _, secretText := range []string{secret, c.SecretAccessKey, c.SessionToken, aws.ToString(sc.SessionToken)} {
		if secretText != "" && (strings.Contains(s.Stderr(), secretText) || strings.Contains(s.Stdout(), secretText)) {
			t.Error("a secret access key or session token appears in the server's output")
		}
	}
}

// terraformConfig manages IAM entities of every kind the aws provider's
// aws_iam_* resources cover here.
const terraformConfig = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}
variable "endpoint" { type = string }
variable "actions" { type = list(string) }
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "` + testKeyID + `"
  secret_key                  = "` + testSecretKey + `"
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    iam = var.endpoint
    sts = var.endpoint
  }
}
resource "aws_iam_user" "app" {
  name = "app"
  path = "/svc/"
  tags = { team = "core" }
}
resource "aws_iam_access_key" "app" { user = aws_iam_user.app.name }
resource "aws_iam_user_policy" "read" {
  name   = "read-prod"
  user   = aws_iam_user.app.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "secretsmanager:GetSecretValue", Resource = "arn:aws:secretsmanager:*:*:secret:prod/app/*" }] })
}
resource "aws_iam_group" "devs" { name = "devs" }
resource "aws_iam_user_group_membership" "app" {
  user   = aws_iam_user.app.name
  groups = [aws_iam_group.devs.name]
}
resource "aws_iam_role" "reader" {
  name                 = "reader"
  max_session_duration = 7200
  tags                 = { env = "prod" }
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow",
    Principal = { AWS = aws_iam_user.app.arn }, Action = "sts:AssumeRole",
  Condition = { StringEquals = { "sts:ExternalId" = "ext-7f3a" } } }] })
}
resource "aws_iam_policy" "read" {
  name   = "read"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = var.actions, Resource = "*" }] })
}
resource "aws_iam_role_policy_attachment" "read" {
  role       = aws_iam_role.reader.name
  policy_arn = aws_iam_policy.read.arn
}
data "aws_caller_identity" "me" {}
output "caller" { value = data.aws_caller_identity.me.arn }
output "key_id" { value = aws_iam_access_key.app.id }
`

// TestIAMWithTerraform applies, re-plans, changes and destroys IAM
// entities with Terraform's aws provider, taken from a local provider
// mirror (COFFER_TF_PLUGIN_MIRROR, default /opt/tf-plugins). Terraform
// starts its provider for every command, which makes this test take about
// a minute: it runs only with COFFER_E2E_TERRAFORM=1.
func TestIAMWithTerraform(t *testing.T) {
	if os.Getenv("COFFER_E2E_TERRAFORM") != "1" {
		t.Skip("slow (about a minute): set COFFER_E2E_TERRAFORM=1 to run it")
	}
	tf := need(t, "terraform")
	mirror := os.Getenv("COFFER_TF_PLUGIN_MIRROR")
	if mirror == "" {
		mirror = "/opt/tf-plugins"
	}
	if _, err := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "aws")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no hashicorp/aws provider in the mirror %s; .ci/run must provide it", mirror)
		}
		t.Skipf("no hashicorp/aws provider in the mirror %s (set COFFER_TF_PLUGIN_MIRROR)", mirror)
	}
	s := startServer(t, "")
	dir := t.TempDir()
	writeFile := func(t *testing.T, path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cliConfig := filepath.Join(dir, "cli.tfrc")
	writeFile(t, cliConfig, `provider_installation {
  filesystem_mirror {
    path    = "`+mirror+`"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }
}
`)
	writeFile(t, filepath.Join(dir, "main.tf"), terraformConfig)
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "TF_INPUT=0",
		"CHECKPOINT_DISABLE=1", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "TF_VAR_endpoint="+s.URL)
	run := func(wantCode int, args ...string) string {
		t.Helper()
		cmd := exec.Command(tf, append(args, "-no-color")...)
		cmd.Dir, cmd.Env = dir, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("terraform %s: %v", args[0], time.Since(start).Round(time.Millisecond))
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("terraform %s: %v", args[0], err)
		}
		if code != wantCode {
			t.Fatalf("terraform %s: exit %d, want %d\n%s", args[0], code, wantCode, out)
		}
		return string(out)
	}
	actions := func(a ...string) string { b, _ := json.Marshal(a); return "actions=" + string(b) }

	run(0, "init")
	run(0, "apply", "-auto-approve", "-var", actions("secretsmanager:GetSecretValue"))
	// Everything reads back as written: no drift.
	run(0, "plan", "-detailed-exitcode", "-var", actions("secretsmanager:GetSecretValue"))
	if out := run(0, "output", "-raw", "caller"); out != testRootARN {
		t.Errorf("aws_caller_identity: %q", out)
	}

	rootIAM := s.iamClient(testKeyID, testSecretKey)
	c := ctx(t) // bounded, and started after the slow terraform commands
	u, err := rootIAM.GetUser(c, &iam.GetUserInput{UserName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(u.User.Path) != "/svc/" || len(u.User.Tags) != 1 {
		t.Errorf("user: %+v", u.User)
	}
	groups, err := rootIAM.ListGroupsForUser(c, &iam.ListGroupsForUserInput{UserName: aws.String("app")})
	if err != nil || len(groups.Groups) != 1 {
		t.Errorf("groups of the user: %v %v", groups, err)
	}
	attached, err := rootIAM.ListAttachedRolePolicies(c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("reader")})
	if err != nil || len(attached.AttachedPolicies) != 1 {
		t.Errorf("policies of the role: %v %v", attached, err)
	}

	// A changed policy document is a new default version.
	run(0, "apply", "-auto-approve", "-var", actions("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"))
	c = ctx(t)
	pols, err := rootIAM.ListPolicies(c, &iam.ListPoliciesInput{Scope: "Local"})
	if err != nil || len(pols.Policies) != 1 || aws.ToString(pols.Policies[0].DefaultVersionId) != "v2" {
		t.Fatalf("policies after the change: %+v %v", pols, err)
	}

	run(0, "destroy", "-auto-approve", "-var", actions("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"))
	users, err := rootIAM.ListUsers(c, &iam.ListUsersInput{})
	if err != nil || len(users.Users) != 0 {
		t.Errorf("users after destroy: %+v %v", users, err)
	}
	roles, err := rootIAM.ListRoles(c, &iam.ListRolesInput{})
	if err != nil || len(roles.Roles) != 0 {
		t.Errorf("roles after destroy: %+v %v", roles, err)
	}
	pols, err = rootIAM.ListPolicies(c, &iam.ListPoliciesInput{Scope: "Local"})
	if err != nil || len(pols.Policies) != 0 {
		t.Errorf("policies after destroy: %+v %v", pols, err)
	}
}
