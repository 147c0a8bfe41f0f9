package e2e

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

const dbSecret = `{"engine":"mysql","host":"db.internal","port":3306,"username":"admin","password":"hG#2kL9!sP0qR"}`

// wantAPIError fails unless err is an AWS API error with the code (and, when
// msg is not empty, the exact message).
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got error %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("got error code %s (%q), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("%s message:\n got %q\nwant %q", code, ae.ErrorMessage(), msg)
	}
}

func TestLifecycleWithSDK(t *testing.T) {
	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)

	created, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("prod/app/db"),
		SecretString: aws.String(dbSecret),
		Description:  aws.String("app database"),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.ARN)
	prefix := "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-"
	if !strings.HasPrefix(arn, prefix) || len(arn) != len(prefix)+6 {
		t.Fatalf("ARN %q: want %s + 6 characters", arn, prefix)
	}
	v1 := aws.ToString(created.VersionId)
	if len(v1) != 36 {
		t.Fatalf("VersionId %q: want the SDK's UUID token", v1)
	}

	// Read by name, full ARN and partial ARN.
	for _, id := range []string{"prod/app/db", arn, strings.TrimSuffix(arn, arn[len(arn)-7:])} {
		got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetSecretValue(%s): %v", id, err)
		}
		if aws.ToString(got.SecretString) != dbSecret || aws.ToString(got.ARN) != arn || aws.ToString(got.VersionId) != v1 ||
			!slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) || got.CreatedDate == nil || got.SecretBinary != nil {
			t.Fatalf("GetSecretValue(%s) = %+v", id, got)
		}
	}

	put, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("prod/app/db"), SecretString: aws.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	v2 := aws.ToString(put.VersionId)
	if !slices.Equal(put.VersionStages, []string{"AWSCURRENT"}) || v2 == v1 || aws.ToString(put.ARN) != arn {
		t.Fatalf("PutSecretValue = %+v", put)
	}
	prev, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.SecretString) != dbSecret || aws.ToString(prev.VersionId) != v1 {
		t.Fatalf("AWSPREVIOUS = %+v, %v", prev, err)
	}
	byID, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionId: aws.String(v2)})
	if err != nil || aws.ToString(byID.SecretString) != "v2" {
		t.Fatalf("by VersionId = %+v, %v", byID, err)
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionId: aws.String(v1), VersionStage: aws.String("AWSCURRENT")})
	wantAPIError(t, err, "InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId.")
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPENDING")})
	wantAPIError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSPENDING")

	d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("prod/app/db")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.Description) != "app database" || d.KmsKeyId != nil || d.Tags != nil || d.DeletedDate != nil ||
		d.RotationEnabled != nil || d.LastAccessedDate == nil || d.CreatedDate == nil || d.LastChangedDate == nil {
		t.Fatalf("DescribeSecret = %+v", d)
	}
	if la := d.LastAccessedDate.UTC(); la.Hour() != 0 || la.Minute() != 0 || la.Second() != 0 {
		t.Fatalf("LastAccessedDate %v is not midnight UTC", la)
	}
	if !slices.Equal(d.VersionIdsToStages[v1], []string{"AWSPREVIOUS"}) || !slices.Equal(d.VersionIdsToStages[v2], []string{"AWSCURRENT"}) || len(d.VersionIdsToStages) != 2 {
		t.Fatalf("VersionIdsToStages = %v", d.VersionIdsToStages)
	}

	list, err := c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil || len(list.SecretList) != 1 || aws.ToString(list.SecretList[0].ARN) != arn || list.NextToken != nil {
		t.Fatalf("ListSecrets = %+v, %v", list, err)
	}

	del, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(arn), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Now().Add(7 * 24 * time.Hour); del.DeletionDate.Sub(want).Abs() > time.Minute {
		t.Fatalf("DeletionDate %v, want about %v", del.DeletionDate, want)
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	wantAPIError(t, err, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("x")})
	wantAPIError(t, err, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/app/db"), SecretString: aws.String("x")})
	wantAPIError(t, err, "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
	d, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil || d.DeletedDate == nil || !d.DeletedDate.Equal(*del.DeletionDate) {
		t.Fatalf("DescribeSecret of a deleted secret = %+v, %v", d, err)
	}
	list, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil || len(list.SecretList) != 0 {
		t.Fatalf("ListSecrets without planned deletions = %+v, %v", list, err)
	}
	list, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)})
	if err != nil || len(list.SecretList) != 1 || list.SecretList[0].DeletedDate == nil {
		t.Fatalf("ListSecrets with planned deletions = %+v, %v", list, err)
	}

	if _, err := c.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil || aws.ToString(got.SecretString) != "v2" {
		t.Fatalf("after restore: %+v, %v", got, err)
	}

	if _, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/app/db")})
	wantAPIError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	again, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/app/db"), SecretString: aws.String("new")})
	if err != nil || aws.ToString(again.ARN) == arn {
		t.Fatalf("re-create after force delete: %+v, %v (want a new ARN)", again, err)
	}
}

func TestBinarySecretAndIdempotency(t *testing.T) {
	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)
	blob := []byte{0, 1, 2, 0xff, 'k', 'e', 'y'}
	token := "11111111-2222-3333-4444-555555555555"
	first, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bin"), SecretBinary: blob, ClientRequestToken: aws.String(token)})
	if err != nil {
		t.Fatal(err)
	}
	// Same token, same value: the first answer again.
	retry, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bin"), SecretBinary: blob, ClientRequestToken: aws.String(token)})
	if err != nil || aws.ToString(retry.ARN) != aws.ToString(first.ARN) || aws.ToString(retry.VersionId) != token {
		t.Fatalf("idempotent CreateSecret = %+v, %v", retry, err)
	}
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bin"), SecretBinary: []byte("other"), ClientRequestToken: aws.String(token)})
	wantAPIError(t, err, "ResourceExistsException", "You can't use ClientRequestToken "+token+" because that value is already in use for a version of secret "+aws.ToString(first.ARN)+".")
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bin"), SecretBinary: blob})
	wantAPIError(t, err, "ResourceExistsException", "The operation failed because the secret bin already exists.")

	got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("bin")})
	if err != nil || string(got.SecretBinary) != string(blob) || got.SecretString != nil {
		t.Fatalf("GetSecretValue = %+v, %v", got, err)
	}

	// PutSecretValue retried with the same token changes nothing.
	putToken := "99999999-2222-3333-4444-555555555555"
	for range 2 {
		put, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("bin"), SecretString: aws.String("text now"), ClientRequestToken: aws.String(putToken)})
		if err != nil || aws.ToString(put.VersionId) != putToken || !slices.Equal(put.VersionStages, []string{"AWSCURRENT"}) {
			t.Fatalf("PutSecretValue = %+v, %v", put, err)
		}
	}
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("bin"), SecretString: aws.String("changed"), ClientRequestToken: aws.String(putToken)})
	wantAPIError(t, err, "ResourceExistsException", "")
	d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("bin")})
	if err != nil || len(d.VersionIdsToStages) != 2 || !slices.Equal(d.VersionIdsToStages[token], []string{"AWSPREVIOUS"}) {
		t.Fatalf("after retries: %+v, %v", d.VersionIdsToStages, err)
	}

	// Custom labels without AWSCURRENT leave the current value alone.
	lab, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("bin"), SecretString: aws.String("staged"), VersionStages: []string{"STAGED"}})
	if err != nil || !slices.Equal(lab.VersionStages, []string{"STAGED"}) {
		t.Fatalf("PutSecretValue with custom label = %+v, %v", lab, err)
	}
	cur, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("bin")})
	if err != nil || aws.ToString(cur.SecretString) != "text now" {
		t.Fatalf("current after custom-label put = %+v, %v", cur, err)
	}
}

func TestRegionsAreNamespaces(t *testing.T) {
	s := startServer(t, "")
	ctx := ctx(t)
	east, west := s.client("us-east-1"), s.client("eu-west-1")
	a, err := east.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("shared"), SecretString: aws.String("east")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := west.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("shared"), SecretString: aws.String("west")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(b.ARN), ":eu-west-1:123456789012:") || !strings.Contains(aws.ToString(a.ARN), ":us-east-1:") {
		t.Fatalf("ARNs %s %s do not carry their regions", aws.ToString(a.ARN), aws.ToString(b.ARN))
	}
	got, err := west.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("shared")})
	if err != nil || aws.ToString(got.SecretString) != "west" {
		t.Fatalf("eu-west-1 value = %+v, %v", got, err)
	}
	// An ARN of another region names nothing here.
	_, err = west.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: a.ARN})
	wantAPIError(t, err, "ResourceNotFoundException", "")
}

func TestAuthenticationErrors(t *testing.T) {
	s := startServer(t, "")
	ctx := ctx(t)
	_, err := s.clientWith(testRegion, "AKIAUNKNOWNKEY000000", testSecretKey).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	wantAPIError(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	_, err = s.clientWith(testRegion, testKeyID, "wrong-secret-wrong-secret-wrong").ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	wantAPIError(t, err, "InvalidSignatureException",
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}

func TestInputErrors(t *testing.T) {
	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("Inv Name"), SecretString: aws.String("x")})
	wantAPIError(t, err, "ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("both"), SecretString: aws.String("x"), SecretBinary: []byte("y")})
	wantAPIError(t, err, "InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("missing")})
	wantAPIError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("missing"), RecoveryWindowInDays: aws.Int64(3)})
	wantAPIError(t, err, "InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("missing"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)})
	wantAPIError(t, err, "InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("missing")})
	wantAPIError(t, err, "ResourceNotFoundException", "")
	// A forced delete of nothing answers as if it deleted something.
	del, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("missing"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err != nil || aws.ToString(del.Name) != "missing" || !strings.HasPrefix(aws.ToString(del.ARN), "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-") || del.DeletionDate == nil {
		t.Fatalf("forced delete of a missing secret = %+v, %v", del, err)
	}
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("missing"), SecretString: aws.String("x")})
	wantAPIError(t, err, "ResourceNotFoundException", "")
}
