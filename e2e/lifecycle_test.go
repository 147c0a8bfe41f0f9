package e2e

import (
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// stagesOf returns the secret's version -> sorted labels map.
func stagesOf(t *testing.T, c *secretsmanager.Client, id string) map[string][]string {
	t.Helper()
	d, err := c.DescribeSecret(ctx(t), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for v, ls := range d.VersionIdsToStages {
		ls = slices.Clone(ls)
		slices.Sort(ls)
		out[v] = ls
	}
	return out
}

func wantLabels(t *testing.T, step string, got, want map[string][]string) {
	t.Helper()
	if !maps.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("%s:\n got %v\nwant %v", step, got, want)
	}
}

// The worked example of BEHAVIOUR.md §4.5, step by step.
func TestLabelWorkedExample(t *testing.T) {
	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)
	id := aws.String("worked")
	cr, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: id, SecretString: aws.String("S1")})
	if err != nil {
		t.Fatal(err)
	}
	v1 := *cr.VersionId
	wantLabels(t, "create", stagesOf(t, c, "worked"), map[string][]string{v1: {"AWSCURRENT"}})

	p2, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: id, SecretString: aws.String("S2"), VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}
	v2 := *p2.VersionId
	wantLabels(t, "put S2 pending", stagesOf(t, c, "worked"), map[string][]string{v1: {"AWSCURRENT"}, v2: {"AWSPENDING"}})

	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: &v2})
	wantAPIError(t, err, "InvalidParameterException", "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version "+v1+", so you must explicitly reference that version in RemoveFromVersionId.")
	if _, err := c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: &v2, RemoveFromVersionId: &v1}); err != nil {
		t.Fatal(err)
	}
	wantLabels(t, "move current to v2", stagesOf(t, c, "worked"), map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT", "AWSPENDING"}})

	p3, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: id, SecretString: aws.String("S3"), VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}
	v3 := *p3.VersionId
	wantLabels(t, "put S3 pending", stagesOf(t, c, "worked"), map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}, v3: {"AWSPENDING"}})

	if _, err := c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: &v3, RemoveFromVersionId: &v2}); err != nil {
		t.Fatal(err)
	}
	wantLabels(t, "move current to v3", stagesOf(t, c, "worked"), map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT", "AWSPENDING"}})

	p4, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: id, SecretString: aws.String("S4")})
	if err != nil {
		t.Fatal(err)
	}
	v4 := *p4.VersionId
	wantLabels(t, "put S4", stagesOf(t, c, "worked"), map[string][]string{v3: {"AWSPREVIOUS"}, v4: {"AWSCURRENT"}})

	// AWSCURRENT cannot be removed, only moved.
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSCURRENT"), RemoveFromVersionId: &v4})
	wantAPIError(t, err, "InvalidParameterException", "You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed.")

	// Deprecated versions are listed only on request, and still readable by id.
	list, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: id})
	if err != nil || len(list.Versions) != 2 || *list.Versions[0].VersionId != v4 || *list.Versions[1].VersionId != v3 {
		t.Fatalf("ListSecretVersionIds = %+v, %v", list, err)
	}
	if !slices.Equal(list.Versions[0].KmsKeyIds, []string{"DefaultEncryptionKey"}) {
		t.Fatalf("KmsKeyIds = %v", list.Versions[0].KmsKeyIds)
	}
	all, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: id, IncludeDeprecated: aws.Bool(true)})
	if err != nil || len(all.Versions) != 4 || all.Versions[3].VersionStages != nil {
		t.Fatalf("with deprecated = %+v, %v", all, err)
	}
	page, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: id, IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(3)})
	if err != nil || len(page.Versions) != 3 || page.NextToken == nil {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	rest, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: id, IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(3), NextToken: page.NextToken})
	if err != nil || len(rest.Versions) != 1 || *rest.Versions[0].VersionId != v1 || rest.NextToken != nil {
		t.Fatalf("second page = %+v, %v", rest, err)
	}
	old, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: id, VersionId: &v1})
	if err != nil || *old.SecretString != "S1" || old.VersionStages != nil {
		t.Fatalf("deprecated version by id = %+v, %v", old, err)
	}
}

func TestUpdateSecretAndTags(t *testing.T) {
	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)
	id := aws.String("upd")
	cr, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: id, SecretString: aws.String("one"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	if err != nil {
		t.Fatal(err)
	}
	// Metadata only: no version.
	u, err := c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: id, Description: aws.String("now described")})
	if err != nil || u.VersionId != nil {
		t.Fatalf("metadata UpdateSecret = %+v, %v", u, err)
	}
	// With a value: a new AWSCURRENT version; a retry with the same token changes nothing.
	tok := "12345678-1234-1234-1234-123456789012"
	for range 2 {
		u, err = c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: id, SecretString: aws.String("two"), ClientRequestToken: &tok})
		if err != nil || aws.ToString(u.VersionId) != tok {
			t.Fatalf("UpdateSecret with value = %+v, %v", u, err)
		}
	}
	wantLabels(t, "after update", stagesOf(t, c, "upd"), map[string][]string{*cr.VersionId: {"AWSPREVIOUS"}, tok: {"AWSCURRENT"}})
	// A customer key: re-encrypts the labelled versions, and both still read.
	if _, err := c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: id, KmsKeyId: aws.String("alias/team-key")}); err != nil {
		t.Fatal(err)
	}
	for _, stage := range []string{"AWSCURRENT", "AWSPREVIOUS"} {
		if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: id, VersionStage: aws.String(stage)}); err != nil {
			t.Fatalf("%s after key change: %v", stage, err)
		}
	}
	d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: id})
	if err != nil || aws.ToString(d.KmsKeyId) != "alias/team-key" || aws.ToString(d.Description) != "now described" {
		t.Fatalf("DescribeSecret = %+v, %v", d, err)
	}

	if _, err := c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: id, Tags: []types.Tag{
		{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("platform")}}}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: id})
	if len(d.Tags) != 2 || *d.Tags[0].Key != "team" || *d.Tags[0].Value != "platform" || *d.Tags[1].Key != "env" {
		t.Fatalf("tags after TagResource = %+v", d.Tags)
	}
	_, err = c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: id, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	wantAPIError(t, err, "InvalidParameterException", "")
	if _, err := c.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: id, TagKeys: []string{"team", "env", "absent"}}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: id})
	if d.Tags == nil || len(d.Tags) != 0 {
		t.Fatalf("tags after removing all = %#v, want [] (present and empty)", d.Tags)
	}

	// BatchGetSecretValue: values and per-secret errors in one call.
	b, err := c.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{"upd", "nothing"}})
	if err != nil || len(b.SecretValues) != 1 || *b.SecretValues[0].SecretString != "two" ||
		len(b.Errors) != 1 || *b.Errors[0].ErrorCode != "ResourceNotFoundException" || *b.Errors[0].SecretId != "nothing" {
		t.Fatalf("BatchGetSecretValue = %+v, %v", b, err)
	}

	// Everything that changes a secret scheduled for deletion is refused.
	if _, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id}); err != nil {
		t.Fatal(err)
	}
	const marked = "You can't perform this operation on the secret because it was marked for deletion."
	_, err = c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: id, Description: aws.String("x")})
	wantAPIError(t, err, "InvalidRequestException", marked)
	_, err = c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: id, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantAPIError(t, err, "InvalidRequestException", marked)
	_, err = c.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: id, TagKeys: []string{"a"}})
	wantAPIError(t, err, "InvalidRequestException", marked)
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("X"), MoveToVersionId: &tok})
	wantAPIError(t, err, "InvalidRequestException", marked)
	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: id})
	wantAPIError(t, err, "InvalidRequestException", "You tried to perform the operation on a secret that's currently marked deleted.")
	if _, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: id}); err != nil {
		t.Fatalf("ListSecretVersionIds of a deleted secret: %v", err)
	}
}
