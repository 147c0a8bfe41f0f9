package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// awsAs runs the aws CLI against s with the given access key and returns
// the JSON it printed, or the error text it printed when it failed.
type awsAs struct {
	t              *testing.T
	cli, url       string
	keyID, secret  string
	sessionToken   string
	principalLabel string
}

func (a awsAs) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(a.cli, append([]string{"--endpoint-url", a.url, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+a.keyID,
		"AWS_SECRET_ACCESS_KEY="+a.secret,
		"AWS_SESSION_TOKEN="+a.sessionToken,
		"AWS_REGION="+testRegion,
		"AWS_DEFAULT_REGION="+testRegion,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_MAX_ATTEMPTS=1",
	)
	return cmd
}

// ok runs a command that must succeed and returns its JSON output.
func (a awsAs) ok(args ...string) map[string]any {
	a.t.Helper()
	out, err := a.cmd(args...).CombinedOutput()
	if err != nil {
		a.t.Fatalf("%s: aws %s: %v\n%s", a.principalLabel, strings.Join(args, " "), err, out)
	}
	var v map[string]any
	if len(strings.TrimSpace(string(out))) > 0 {
		if err := json.Unmarshal(out, &v); err != nil {
			a.t.Fatalf("%s: aws %s printed %q: %v", a.principalLabel, args[0], out, err)
		}
	}
	return v
}

// fails runs a command that must fail with an error containing every want.
func (a awsAs) fails(args []string, want ...string) string {
	a.t.Helper()
	out, err := a.cmd(args...).CombinedOutput()
	if err == nil {
		a.t.Fatalf("%s: aws %s succeeded, want an error containing %q:\n%s", a.principalLabel, strings.Join(args, " "), want, out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			a.t.Fatalf("%s: aws %s: error\n%s\ndoes not contain %q", a.principalLabel, strings.Join(args, " "), out, w)
		}
	}
	return string(out)
}

// newUser creates an IAM user with an access key and an inline policy, as
// root, and returns a client acting as that user.
func newUser(root awsAs, name, policyDoc string) awsAs {
	root.t.Helper()
	root.ok("iam", "create-user", "--user-name", name)
	if policyDoc != "" {
		root.ok("iam", "put-user-policy", "--user-name", name, "--policy-name", name+"-policy", "--policy-document", policyDoc)
	}
	k := root.ok("iam", "create-access-key", "--user-name", name)["AccessKey"].(map[string]any)
	return awsAs{t: root.t, cli: root.cli, url: root.url, keyID: k["AccessKeyId"].(string), secret: k["SecretAccessKey"].(string), principalLabel: "user " + name}
}

// TestAuthzIdentityPolicies: a user allowed GetSecretValue on prod/app/*
// only is refused everywhere else, with AWS's message; a tag condition
// decides on the secret's tags; a deactivated key is refused at once.
func TestAuthzIdentityPolicies(t *testing.T) {
	cli := need(t, "/usr/bin/aws", "aws")
	s := startServer(t, "")
	root := awsAs{t: t, cli: cli, url: s.URL, keyID: testKeyID, secret: testSecretKey, principalLabel: "root"}
	root.ok("secretsmanager", "create-secret", "--name", "prod/app/db", "--secret-string", "app-db")
	root.ok("secretsmanager", "create-secret", "--name", "prod/other/db", "--secret-string", "other-db")
	root.ok("secretsmanager", "create-secret", "--name", "pay/ledger", "--secret-string", "ledger", "--tags", "Key=team,Value=payments")
	root.ok("secretsmanager", "create-secret", "--name", "ops/ledger", "--secret-string", "ops", "--tags", "Key=team,Value=ops")

	app := newUser(root, "app", `{"Version":"2012-10-17","Statement":[{"Sid":"ReadProdApp","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:prod/app/*"}]}`)
	if v := app.ok("secretsmanager", "get-secret-value", "--secret-id", "prod/app/db"); v["SecretString"] != "app-db" {
		t.Fatalf("app reads prod/app/db = %v", v)
	}
	out := app.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "prod/other/db"}, "AccessDeniedException")
	wantMsg := "User: arn:aws:iam::123456789012:user/app is not authorized to perform: secretsmanager:GetSecretValue on resource: prod/other/db because no identity-based policy allows the secretsmanager:GetSecretValue action"
	if !strings.Contains(out, wantMsg) {
		t.Fatalf("denial message:\n%s\nwant %q", out, wantMsg)
	}
	if strings.Contains(out, "other-db") {
		t.Fatal("a denial carries the secret value")
	}
	// Other actions on the allowed secret, and ListSecrets, are refused too.
	app.fails([]string{"secretsmanager", "describe-secret", "--secret-id", "prod/app/db"}, "AccessDeniedException", "secretsmanager:DescribeSecret")
	app.fails([]string{"secretsmanager", "put-secret-value", "--secret-id", "prod/app/db", "--secret-string", "x"}, "AccessDeniedException")
	app.fails([]string{"secretsmanager", "list-secrets"}, "AccessDeniedException", "on resource: *")
	// Allowed but missing: the caller learns it is missing.
	app.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "prod/app/missing"}, "ResourceNotFoundException")
	// Not allowed and missing: refused, without saying whether it exists.
	app.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "prod/nothing"}, "AccessDeniedException")
	// An explicit deny wins over the allow.
	root.ok("iam", "put-user-policy", "--user-name", "app", "--policy-name", "deny-db", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"secretsmanager:*","Resource":"*","Condition":{"StringLike":{"secretsmanager:SecretId":"*:secret:prod/app/db-*"}}}]}`)
	app.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "prod/app/db"}, "AccessDeniedException", "with an explicit deny in an identity-based policy")
	root.ok("iam", "delete-user-policy", "--user-name", "app", "--policy-name", "deny-db")
	app.ok("secretsmanager", "get-secret-value", "--secret-id", "prod/app/db")

	// A tag condition: only secrets tagged team=payments.
	pay := newUser(root, "payments", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"payments"}}}]}`)
	if v := pay.ok("secretsmanager", "get-secret-value", "--secret-id", "pay/ledger"); v["SecretString"] != "ledger" {
		t.Fatalf("payments reads pay/ledger = %v", v)
	}
	pay.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "ops/ledger"}, "AccessDeniedException")
	pay.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "prod/app/db"}, "AccessDeniedException")
	// Retagging the secret changes the answer on the next call.
	root.ok("secretsmanager", "tag-resource", "--secret-id", "ops/ledger", "--tags", "Key=team,Value=payments")
	pay.ok("secretsmanager", "get-secret-value", "--secret-id", "ops/ledger")

	// A deactivated key is refused at once; reactivated, it works again.
	root.ok("iam", "update-access-key", "--user-name", "app", "--access-key-id", app.keyID, "--status", "Inactive")
	app.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "prod/app/db"}, "UnrecognizedClientException")
	root.ok("iam", "update-access-key", "--user-name", "app", "--access-key-id", app.keyID, "--status", "Active")
	app.ok("secretsmanager", "get-secret-value", "--secret-id", "prod/app/db")
}

// TestAuthzCrossAccount: a read from another account needs both the
// secret's resource policy and the reader's identity policy.
func TestAuthzCrossAccount(t *testing.T) {
	cli := need(t, "/usr/bin/aws", "aws")
	dir := t.TempDir()
	first := startServer(t, dir) // creates the root key and the first account
	first.Stop()
	out, err := exec.Command(binPath, "account", "create", "--id", "210987654321", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("coffer account create: %v\n%s", err, out)
	}
	keyID := regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)`).FindSubmatch(out)
	secret := regexp.MustCompile(`AWS_SECRET_ACCESS_KEY=(\S+)`).FindSubmatch(out)
	if keyID == nil || secret == nil || !strings.Contains(string(out), "210987654321") {
		t.Fatalf("coffer account create printed:\n%s", out)
	}
	again, err := exec.Command(binPath, "account", "create", "--id", "210987654321", "--data-dir", dir).CombinedOutput()
	if err == nil || strings.Contains(string(again), "AWS_SECRET_ACCESS_KEY=") {
		t.Fatalf("creating the account twice: %v\n%s", err, again)
	}

	s := startServer(t, dir)
	owner := awsAs{t: t, cli: cli, url: s.URL, keyID: testKeyID, secret: testSecretKey, principalLabel: "owner root"}
	other := awsAs{t: t, cli: cli, url: s.URL, keyID: string(keyID[1]), secret: string(secret[1]), principalLabel: "other root"}
	if v := other.ok("sts", "get-caller-identity"); v["Account"] != "210987654321" {
		t.Fatalf("second account's identity = %v", v)
	}
	// A secret under a named key can be shared; one under the default key cannot.
	shared := owner.ok("secretsmanager", "create-secret", "--name", "shared/db", "--secret-string", "s3cr3t", "--kms-key-id", "alias/shared")["ARN"].(string)
	dflt := owner.ok("secretsmanager", "create-secret", "--name", "shared/default", "--secret-string", "d")["ARN"].(string)

	reader := newUser(other, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:shared/*"}]}`)
	// Identity policy alone: refused.
	reader.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", shared}, "AccessDeniedException", "because no resource-based policy allows the secretsmanager:GetSecretValue action")

	rp := `{"Version":"2012-10-17","Statement":[{"Sid":"OtherAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	owner.ok("secretsmanager", "put-resource-policy", "--secret-id", "shared/db", "--resource-policy", rp, "--block-public-policy")
	owner.ok("secretsmanager", "put-resource-policy", "--secret-id", "shared/default", "--resource-policy", rp)
	if v := owner.ok("secretsmanager", "get-resource-policy", "--secret-id", "shared/db"); v["ResourcePolicy"] != rp {
		t.Fatalf("get-resource-policy = %v", v)
	}
	// Both policies: allowed.
	if v := reader.ok("secretsmanager", "get-secret-value", "--secret-id", shared); v["SecretString"] != "s3cr3t" {
		t.Fatalf("cross-account read = %v", v)
	}
	reader.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", dflt}, "InvalidRequestException", "default KMS service key")
	// Resource policy alone: refused.
	other.ok("iam", "delete-user-policy", "--user-name", "reader", "--policy-name", "reader-policy")
	reader.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", shared}, "AccessDeniedException", "because no identity-based policy allows")
	// The other account's root has its account's whole identity side.
	other.ok("secretsmanager", "get-secret-value", "--secret-id", shared)
	// Names resolve in the caller's own account: the other account sees no shared/db there.
	other.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "shared/db"}, "ResourceNotFoundException")
	// Without the resource policy, nobody from outside gets in.
	owner.ok("secretsmanager", "delete-resource-policy", "--secret-id", "shared/db")
	if v := owner.ok("secretsmanager", "get-resource-policy", "--secret-id", "shared/db"); v["ResourcePolicy"] != nil {
		t.Fatalf("after delete-resource-policy: %v", v)
	}
	other.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", shared}, "AccessDeniedException", "because no resource-based policy allows")

	// BlockPublicPolicy refuses a policy open to everyone, and changes nothing.
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	owner.fails([]string{"secretsmanager", "put-resource-policy", "--secret-id", "shared/db", "--resource-policy", public, "--block-public-policy"}, "PublicPolicyException")
	if v := owner.ok("secretsmanager", "get-resource-policy", "--secret-id", "shared/db"); v["ResourcePolicy"] != nil {
		t.Fatalf("a refused policy was attached: %v", v)
	}
	owner.fails([]string{"secretsmanager", "put-resource-policy", "--secret-id", "shared/db", "--resource-policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`}, "MalformedPolicyDocumentException")
	if v := owner.ok("secretsmanager", "validate-resource-policy", "--resource-policy", public); v["PolicyValidationPassed"] != false {
		t.Fatalf("validate-resource-policy of a public policy = %v", v)
	}
	if v := owner.ok("secretsmanager", "validate-resource-policy", "--secret-id", "shared/db", "--resource-policy", rp); v["PolicyValidationPassed"] != true {
		t.Fatalf("validate-resource-policy = %v", v)
	}
}

// TestPolicySimulateCLI: coffer policy simulate says what was decided and
// which statement decided it.
func TestPolicySimulateCLI(t *testing.T) {
	dir := t.TempDir()
	app := dir + "/app.json"
	if err := os.WriteFile(app, []byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"ReadProdApp","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:prod/app/*"},
		{"Sid":"NoDeletes","Effect":"Deny","Action":"secretsmanager:Delete*","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const res = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf"
	out, err := exec.Command(binPath, "policy", "simulate", "--policy", app,
		"--action", "secretsmanager:GetSecretValue", "--action", "secretsmanager:DeleteSecret", "--action", "secretsmanager:DescribeSecret",
		"--resource", res).CombinedOutput()
	if err != nil {
		t.Fatalf("policy simulate: %v\n%s", err, out)
	}
	want := "secretsmanager:GetSecretValue on " + res + ": allowed\n" +
		"  decided by app.json: statement \"ReadProdApp\" (#0, Allow)\n" +
		"secretsmanager:DeleteSecret on " + res + ": denied with an explicit deny in an identity-based policy\n" +
		"  decided by app.json: statement \"NoDeletes\" (#1, Deny)\n" +
		"secretsmanager:DescribeSecret on " + res + ": denied because no identity-based policy allows the secretsmanager:DescribeSecret action\n"
	if string(out) != want {
		t.Fatalf("policy simulate printed:\n%s\nwant:\n%s", out, want)
	}
	// A malformed policy is refused with IAM's text.
	bad := dir + "/bad.json"
	if err := os.WriteFile(bad, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(binPath, "policy", "simulate", "--policy", bad, "--action", "secretsmanager:GetSecretValue").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "coffer: error:") || !strings.Contains(string(out), "bad.json") {
		t.Fatalf("malformed policy: %v\n%s", err, out)
	}
}

// TestAuthzAssumedRole: a role session carries the role's policies, cut
// back by the session policy given to AssumeRole.
func TestAuthzAssumedRole(t *testing.T) {
	cli := need(t, "/usr/bin/aws", "aws")
	s := startServer(t, "")
	root := awsAs{t: t, cli: cli, url: s.URL, keyID: testKeyID, secret: testSecretKey, principalLabel: "root"}
	root.ok("secretsmanager", "create-secret", "--name", "prod/app/db", "--secret-string", "app-db")
	root.ok("secretsmanager", "create-secret", "--name", "prod/other/db", "--secret-string", "other-db")
	dev := newUser(root, "dev", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/reader"}]}`)
	root.ok("iam", "create-role", "--role-name", "reader", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)
	root.ok("iam", "put-role-policy", "--role-name", "reader", "--policy-name", "read", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`)

	assume := func(extra ...string) awsAs {
		t.Helper()
		v := dev.ok(append([]string{"sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/reader", "--role-session-name", "s1"}, extra...)...)
		c := v["Credentials"].(map[string]any)
		return awsAs{t: t, cli: cli, url: s.URL, keyID: c["AccessKeyId"].(string), secret: c["SecretAccessKey"].(string),
			sessionToken: c["SessionToken"].(string), principalLabel: "session"}
	}
	full := assume()
	if v := full.ok("sts", "get-caller-identity"); v["Arn"] != "arn:aws:sts::123456789012:assumed-role/reader/s1" {
		t.Fatalf("session identity = %v", v)
	}
	full.ok("secretsmanager", "get-secret-value", "--secret-id", "prod/other/db")
	full.fails([]string{"secretsmanager", "describe-secret", "--secret-id", "prod/app/db"}, "AccessDeniedException",
		"User: arn:aws:sts::123456789012:assumed-role/reader/s1 is not authorized to perform: secretsmanager:DescribeSecret")

	narrow := assume("--policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:prod/app/*"}]}`)
	if v := narrow.ok("secretsmanager", "get-secret-value", "--secret-id", "prod/app/db"); v["SecretString"] != "app-db" {
		t.Fatalf("narrowed session read = %v", v)
	}
	narrow.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "prod/other/db"}, "AccessDeniedException", "because no session policy allows the secretsmanager:GetSecretValue action")
	// The token is part of the credentials: without it the key is unknown.
	noToken := narrow
	noToken.sessionToken = ""
	noToken.fails([]string{"secretsmanager", "get-secret-value", "--secret-id", "prod/app/db"}, "UnrecognizedClientException")
}
