package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

const (
	acctA = "123456789012"
	acctB = "210987654321"
)

// userCaller is an IAM user of account with the given identity policies.
func userCaller(t *testing.T, account, name string, docs ...string) Caller {
	t.Helper()
	var ps []*policy.Policy
	for i, d := range docs {
		p, err := policy.Parse("p"+string(rune('0'+i)), d, policy.Identity)
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		ps = append(ps, p)
	}
	arn := "arn:aws:iam::" + account + ":user/" + name
	return Caller{Account: account, Region: "us-east-1", Identity: &iam.Identity{
		Principal: iam.Principal{Account: account, ARN: arn, Kind: iam.KindUser, Name: name, UserID: "AIDAEXAMPLE" + name},
		Policies:  ps,
	}}
}

func allow(actions, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + actions + `,"Resource":"` + resource + `"}]}`
}

func wantKind(t *testing.T, what string, err error, kind Kind, msg string) {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) || de.Kind != kind {
		t.Fatalf("%s: err = %v, want kind %d", what, err, kind)
	}
	if msg != "" && !strings.Contains(de.Message, msg) {
		t.Fatalf("%s: message %q does not contain %q", what, de.Message, msg)
	}
}

func TestAuthorizeIdentityPolicy(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	root := SystemCaller("aws", acctA, "us-east-1")
	for i, name := range []string{"prod/app/db", "dev/app/db"} {
		if _, err := s.CreateSecret(ctx, root, CreateInput{Name: name, SecretString: ptr("v-" + name), ClientRequestToken: token(i)}); err != nil {
			t.Fatal(err)
		}
	}
	u := userCaller(t, acctA, "app", allow(`"secretsmanager:GetSecretValue"`, "arn:aws:secretsmanager:us-east-1:"+acctA+":secret:prod/*"))
	v, err := s.GetSecretValue(ctx, u, GetValueInput{SecretID: "prod/app/db"})
	if err != nil || v.Value.String() == "" {
		t.Fatalf("allowed read: %v", err)
	}
	_, err = s.GetSecretValue(ctx, u, GetValueInput{SecretID: "dev/app/db"})
	wantKind(t, "dev read", err, KindAccessDenied, "User: arn:aws:iam::"+acctA+":user/app is not authorized to perform: secretsmanager:GetSecretValue on resource: dev/app/db because no identity-based policy allows the secretsmanager:GetSecretValue action")
	_, err = s.DescribeSecret(ctx, u, "prod/app/db")
	wantKind(t, "describe", err, KindAccessDenied, "secretsmanager:DescribeSecret")
	_, err = s.GetSecretValue(ctx, u, GetValueInput{SecretID: "prod/missing"})
	wantKind(t, "allowed missing", err, KindResourceNotFound, "")
	_, err = s.GetSecretValue(ctx, u, GetValueInput{SecretID: "dev/missing"})
	wantKind(t, "denied missing", err, KindAccessDenied, "")
	_, err = s.ListSecrets(ctx, u, ListInput{})
	wantKind(t, "list", err, KindAccessDenied, "on resource: *")
	_, err = s.PutSecretValue(ctx, u, PutInput{SecretID: "prod/app/db", SecretString: ptr("x"), ClientRequestToken: token(50)})
	wantKind(t, "put", err, KindAccessDenied, "secretsmanager:PutSecretValue")
	_, err = s.CreateSecret(ctx, u, CreateInput{Name: "prod/new", SecretString: ptr("x"), ClientRequestToken: token(51)})
	wantKind(t, "create", err, KindAccessDenied, "secretsmanager:CreateSecret")
	_, err = s.GetRandomPassword(ctx, u, PasswordInput{Length: 20})
	wantKind(t, "password", err, KindAccessDenied, "secretsmanager:GetRandomPassword")

	// A caller without an identity is refused everything.
	_, err = s.GetSecretValue(ctx, Caller{Account: acctA, Region: "us-east-1"}, GetValueInput{SecretID: "prod/app/db"})
	wantKind(t, "no identity", err, KindAccessDenied, "")

	// BatchGetSecretValue: the call itself, then each secret on its own.
	b := userCaller(t, acctA, "batch",
		allow(`["secretsmanager:BatchGetSecretValue"]`, "*"),
		allow(`"secretsmanager:GetSecretValue"`, "arn:aws:secretsmanager:us-east-1:"+acctA+":secret:prod/*"))
	res, err := s.BatchGetSecretValue(ctx, b, []string{"prod/app/db", "dev/app/db"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != 1 || res.Values[0].Name != "prod/app/db" || len(res.Errors) != 1 || res.Errors[0].Err.Kind != KindAccessDenied {
		t.Fatalf("batch = %d values, errors %+v", len(res.Values), res.Errors)
	}
	_, err = s.BatchGetSecretValue(ctx, u, []string{"prod/app/db"})
	wantKind(t, "batch without BatchGetSecretValue", err, KindAccessDenied, "secretsmanager:BatchGetSecretValue")
}

func TestAuthorizeConditionKeys(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	root := SystemCaller("aws", acctA, "us-east-1")
	if _, err := s.CreateSecret(ctx, root, CreateInput{Name: "tagged", SecretString: ptr("t"), ClientRequestToken: token(1), Tags: []Tag{{Key: "team", Value: "pay"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutSecretValue(ctx, root, PutInput{SecretID: "tagged", SecretString: ptr("t2"), ClientRequestToken: token(2)}); err != nil {
		t.Fatal(err)
	}
	// Only AWSCURRENT, and only secrets tagged team=pay.
	u := userCaller(t, acctA, "u", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"pay"}}},
		{"Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringNotEquals":{"secretsmanager:VersionStage":"AWSCURRENT"},"Null":{"secretsmanager:VersionStage":"false"}}},
		{"Effect":"Allow","Action":"secretsmanager:CreateSecret","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"pay"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}},
		{"Effect":"Allow","Action":"secretsmanager:TagResource","Resource":"*"}]}`)
	if _, err := s.GetSecretValue(ctx, u, GetValueInput{SecretID: "tagged"}); err != nil {
		t.Fatalf("current: %v", err)
	}
	_, err := s.GetSecretValue(ctx, u, GetValueInput{SecretID: "tagged", VersionStage: ptr("AWSPREVIOUS")})
	wantKind(t, "previous", err, KindAccessDenied, "with an explicit deny in an identity-based policy")
	if _, err := s.CreateSecret(ctx, u, CreateInput{Name: "mine", SecretString: ptr("m"), ClientRequestToken: token(3), Tags: []Tag{{Key: "team", Value: "pay"}}}); err != nil {
		t.Fatalf("create with the right tag: %v", err)
	}
	_, err = s.CreateSecret(ctx, u, CreateInput{Name: "theirs", SecretString: ptr("m"), ClientRequestToken: token(4), Tags: []Tag{{Key: "team", Value: "ops"}}})
	wantKind(t, "create with another tag", err, KindAccessDenied, "")
	_, err = s.CreateSecret(ctx, u, CreateInput{Name: "untagged", SecretString: ptr("m"), ClientRequestToken: token(5)})
	wantKind(t, "create untagged", err, KindAccessDenied, "")
	// Nothing was created by the refused calls.
	for _, name := range []string{"theirs", "untagged"} {
		if _, err := s.DescribeSecret(ctx, root, name); err == nil {
			t.Fatalf("%s exists after a refused CreateSecret", name)
		}
	}
}

func TestAuthorizeResourcePolicy(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	root := SystemCaller("aws", acctA, "us-east-1")
	shared, err := s.CreateSecret(ctx, root, CreateInput{Name: "shared", SecretString: ptr("s"), ClientRequestToken: token(1), KmsKeyID: ptr("alias/shared")})
	if err != nil {
		t.Fatal(err)
	}
	dflt, err := s.CreateSecret(ctx, root, CreateInput{Name: "dflt", SecretString: ptr("d"), ClientRequestToken: token(2)})
	if err != nil {
		t.Fatal(err)
	}
	// Same account: a resource policy naming the user is enough.
	same := userCaller(t, acctA, "same")
	_, err = s.GetSecretValue(ctx, same, GetValueInput{SecretID: "shared"})
	wantKind(t, "no policy at all", err, KindAccessDenied, "")
	grant := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	}
	if _, err := s.PutResourcePolicy(ctx, root, "shared", grant("arn:aws:iam::"+acctA+":user/same"), true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSecretValue(ctx, same, GetValueInput{SecretID: "shared"}); err != nil {
		t.Fatalf("same account via resource policy: %v", err)
	}
	got, err := s.GetResourcePolicy(ctx, root, "shared")
	if err != nil || got.Policy == nil || *got.Policy != grant("arn:aws:iam::"+acctA+":user/same") {
		t.Fatalf("GetResourcePolicy = %+v, %v", got, err)
	}

	// Cross account: both sides must allow.
	readAll := allow(`"secretsmanager:GetSecretValue"`, "*")
	withID := userCaller(t, acctB, "reader", readAll)
	without := userCaller(t, acctB, "reader")
	_, err = s.GetSecretValue(ctx, withID, GetValueInput{SecretID: shared.ARN})
	wantKind(t, "identity only", err, KindAccessDenied, "because no resource-based policy allows the secretsmanager:GetSecretValue action")
	for _, id := range []string{"shared", "dflt"} {
		if _, err := s.PutResourcePolicy(ctx, root, id, grant("arn:aws:iam::"+acctB+":root"), true); err != nil {
			t.Fatalf("granting another account with BlockPublicPolicy: %v", err)
		}
	}
	if _, err := s.GetSecretValue(ctx, withID, GetValueInput{SecretID: shared.ARN}); err != nil {
		t.Fatalf("both allow: %v", err)
	}
	_, err = s.GetSecretValue(ctx, without, GetValueInput{SecretID: shared.ARN})
	wantKind(t, "resource only", err, KindAccessDenied, "because no identity-based policy allows")
	_, err = s.GetSecretValue(ctx, withID, GetValueInput{SecretID: dflt.ARN})
	wantKind(t, "default key", err, KindInvalidRequest, "default KMS service key")
	// A name resolves in the caller's own account.
	_, err = s.GetSecretValue(ctx, withID, GetValueInput{SecretID: "shared"})
	wantKind(t, "by name", err, KindResourceNotFound, "")

	// An explicit deny in the resource policy binds even the owner's root.
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	if _, err := s.PutResourcePolicy(ctx, root, "shared", deny, true); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetSecretValue(ctx, root, GetValueInput{SecretID: "shared"})
	wantKind(t, "resource deny", err, KindAccessDenied, "with an explicit deny in a resource-based policy")
	if _, err := s.DeleteResourcePolicy(ctx, root, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSecretValue(ctx, root, GetValueInput{SecretID: "shared"}); err != nil {
		t.Fatalf("after DeleteResourcePolicy: %v", err)
	}
	if got, err := s.GetResourcePolicy(ctx, root, "shared"); err != nil || got.Policy != nil {
		t.Fatalf("GetResourcePolicy after delete = %+v, %v", got, err)
	}

	// BlockPublicPolicy refuses a public grant and leaves the secret as it was.
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	_, err = s.PutResourcePolicy(ctx, root, "shared", public, true)
	wantKind(t, "public", err, KindPublicPolicy, "")
	if got, _ := s.GetResourcePolicy(ctx, root, "shared"); got.Policy != nil {
		t.Fatal("a refused policy was attached")
	}
	_, err = s.PutResourcePolicy(ctx, root, "shared", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"x:y","Resource":"*"}]}`, false)
	wantKind(t, "no principal", err, KindMalformedPolicy, "")
	_, err = s.PutResourcePolicy(ctx, root, "shared", `not json`, false)
	wantKind(t, "not json", err, KindMalformedPolicy, msgPolicySyntax)

	v, err := s.ValidateResourcePolicy(ctx, root, nil, public)
	if err != nil || v.Passed || len(v.Findings) == 0 {
		t.Fatalf("ValidateResourcePolicy(public) = %+v, %v", v, err)
	}
	v, err = s.ValidateResourcePolicy(ctx, root, ptr("shared"), grant("arn:aws:iam::"+acctB+":root"))
	if err != nil || !v.Passed || len(v.Findings) != 0 {
		t.Fatalf("ValidateResourcePolicy(account grant) = %+v, %v", v, err)
	}
}

// A value written across accounts is sealed under the owner's key, not the
// caller's.
func TestCrossAccountUpdateSealsUnderOwner(t *testing.T) {
	s, _, store := newTestService(t)
	ctx := context.Background()
	root := SystemCaller("aws", acctA, "us-east-1")
	shared, err := s.CreateSecret(ctx, root, CreateInput{Name: "shared", SecretString: ptr("s"), ClientRequestToken: token(1), KmsKeyID: ptr("alias/shared")})
	if err != nil {
		t.Fatal(err)
	}
	grant := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acctB + `:root"},"Action":"secretsmanager:UpdateSecret","Resource":"*"}]}`
	if _, err := s.PutResourcePolicy(ctx, root, "shared", grant, true); err != nil {
		t.Fatal(err)
	}
	writer := userCaller(t, acctB, "writer", allow(`"secretsmanager:UpdateSecret"`, "*"))
	res, err := s.UpdateSecret(ctx, writer, UpdateInput{SecretID: shared.ARN, SecretString: ptr("new"), ClientRequestToken: token(2)})
	if err != nil {
		t.Fatalf("cross-account UpdateSecret: %v", err)
	}
	var kek string
	err = store.View(ctx, func(tx storage.Tx) error {
		v, err := tx.Version(shared.ARN, res.VersionID)
		if err != nil {
			return err
		}
		kek, err = envelope.KEKID(v.Ciphertext)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(kek, acctA+":") {
		t.Fatalf("value sealed under key %q, want one of the owner's account %s", kek, acctA)
	}
}
