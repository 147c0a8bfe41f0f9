package smapi

import (
	"errors"
	"strings"
	"testing"
)

const (
	validToken = "0d8f7e0e-5c2b-4b8a-9f0a-6f1d2c3b4a59" // 36 characters
	prefix1    = "1 validation error detected: "
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   interface{ Validate() error }
		want string // "" for valid
	}{
		{
			name: "valid create",
			in: &CreateSecretRequest{
				Name:               new("prod/db"),
				ClientRequestToken: new(validToken),
				SecretString:       new(`{"password":"x"}`),
				Tags:               []Tag{{Key: new("team"), Value: new("")}},
			},
		},
		{
			name: "required member missing",
			in:   &CreateSecretRequest{},
			want: prefix1 + "Value null at 'name' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "nil receiver",
			in:   (*GetSecretValueRequest)(nil),
			want: prefix1 + "Value null at 'secretId' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "short token",
			in:   &CreateSecretRequest{Name: new("n"), ClientRequestToken: new("abc")},
			want: prefix1 + "Value 'abc' at 'clientRequestToken' failed to satisfy constraint: " +
				"Member must have length greater than or equal to 32",
		},
		{
			name: "several violations in member order",
			in:   &CreateSecretRequest{Name: new(""), ClientRequestToken: new("abc"), Description: new(strings.Repeat("d", 2049))},
			want: "3 validation errors detected: " +
				"Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value 'abc' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32; " +
				"Value '" + strings.Repeat("d", 2049) + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048",
		},
		{
			name: "nested list of structures",
			in: &ListSecretsRequest{Filters: []Filter{
				{Key: new("name"), Values: []string{"prod"}},
				{Key: new("bogus"), Values: []string{}},
			}},
			want: "2 validation errors detected: " +
				"Value 'bogus' at 'filters.2.member.key' failed to satisfy constraint: Member must satisfy enum value set: " +
				"[description, name, tag-key, tag-value, primary-region, owning-service, all]; " +
				"Value '[]' at 'filters.2.member.values' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "pattern in nested list of strings",
			in:   &ListSecretsRequest{Filters: []Filter{{Key: new("name"), Values: []string{"ok", "a*b"}}}},
			want: prefix1 + `Value 'a*b' at 'filters.1.member.values.2.member' failed to satisfy constraint: ` +
				`Member must satisfy regular expression pattern: ^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$`,
		},
		{
			name: "enum",
			in:   &ListSecretsRequest{SortOrder: new("up"), SortBy: new(SortByTypeName)},
			want: prefix1 + "Value 'up' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]",
		},
		{
			name: "integer range",
			in:   &ListSecretsRequest{MaxResults: new(int64(0))},
			want: prefix1 + "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1",
		},
		{
			name: "integer max",
			in:   &BatchGetSecretValueRequest{MaxResults: new(int64(21))},
			want: prefix1 + "Value '21' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 20",
		},
		{
			name: "tag value",
			in: &TagResourceRequest{SecretId: new("s"), Tags: []Tag{
				{Key: new("a"), Value: new("b")},
				{Key: new("k"), Value: new(strings.Repeat("v", 257))},
			}},
			want: prefix1 + "Value '" + strings.Repeat("v", 257) + "' at 'tags.2.member.value' failed to satisfy constraint: " +
				"Member must have length less than or equal to 256",
		},
		{
			name: "required list missing, empty list present",
			in:   &UntagResourceRequest{SecretId: new("s")},
			want: prefix1 + "Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "empty list without min is valid",
			in:   &UntagResourceRequest{SecretId: new("s"), TagKeys: []string{}},
		},
		{
			name: "empty list of strings below min",
			in:   &RemoveRegionsFromReplicationRequest{SecretId: new("s"), RemoveReplicaRegions: []string{}},
			want: prefix1 + "Value '[]' at 'removeReplicaRegions' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "region pattern",
			in:   &RemoveRegionsFromReplicationRequest{SecretId: new("s"), RemoveReplicaRegions: []string{"us-east-1", "US"}},
			want: prefix1 + `Value 'US' at 'removeReplicaRegions.2.member' failed to satisfy constraint: ` +
				`Member must satisfy regular expression pattern: ^([a-z]+-)+\d+$`,
		},
		{
			name: "empty list of structures below min",
			in:   &ReplicateSecretToRegionsRequest{SecretId: new("s"), AddReplicaRegions: []ReplicaRegionType{}},
			want: prefix1 + "Value '[]' at 'addReplicaRegions' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "list of strings too long shows the list",
			in:   &BatchGetSecretValueRequest{SecretIdList: strings.Split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u", ",")},
			want: prefix1 + "Value '[a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u]' at 'secretIdList' " +
				"failed to satisfy constraint: Member must have length less than or equal to 20",
		},
		{
			name: "nested structure",
			in: &RotateSecretRequest{SecretId: new("s"), RotationRules: &RotationRulesType{
				AutomaticallyAfterDays: new(int64(0)),
				Duration:               new("5d"),
				ScheduleExpression:     new("rate(10 days)"),
			}},
			want: "2 validation errors detected: " +
				"Value '0' at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '5d' at 'rotationRules.duration' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+h",
		},
		{
			name: "length and pattern both reported",
			in:   &RotateSecretRequest{SecretId: new("s"), RotationRules: &RotationRulesType{Duration: new("1234")}},
			want: "2 validation errors detected: " +
				"Value '1234' at 'rotationRules.duration' failed to satisfy constraint: Member must have length less than or equal to 3; " +
				"Value '1234' at 'rotationRules.duration' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+h",
		},
		{
			name: "length counts characters, not bytes",
			in:   &CreateSecretRequest{Name: new(strings.Repeat("é", 512)), SecretString: new(strings.Repeat("€", 65536))},
		},
		{
			name: "sensitive string never shown",
			in:   &PutSecretValueRequest{SecretId: new("s"), SecretString: new(strings.Repeat("canary-xyz", 7000))},
			want: prefix1 + "Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536",
		},
		{
			name: "sensitive blob never shown",
			in:   &PutSecretValueRequest{SecretId: new("s"), SecretBinary: []byte{}},
			want: prefix1 + "Value at 'secretBinary' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "sensitive token with pattern",
			in:   &PutSecretValueRequest{SecretId: new("s"), RotationToken: new("canary-xyz canary-xyz canary-xyz canary-xyz")},
			want: prefix1 + `Value at 'rotationToken' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9\-]+$`,
		},
		{
			name: "sensitive list entries in output shapes",
			in: &BatchGetSecretValueResponse{SecretValues: []SecretValueEntry{
				{Name: new("a"), SecretString: new("")},
			}},
			want: prefix1 + "Value at 'secretValues.1.member.secretString' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "map entries",
			in: &DescribeSecretResponse{VersionIdsToStages: map[string][]string{
				"short":    {"AWSCURRENT"},
				validToken: {},
			}},
			want: "2 validation errors detected: " +
				"Value '[]' at 'versionIdsToStages." + validToken + "' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value 'short' at 'versionIdsToStages.short' failed to satisfy constraint: Member must have length greater than or equal to 32",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %T, want *ValidationError", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Validate() =\n%s\nwant\n%s", got, tt.want)
			}
			if strings.Contains(err.Error(), "canary-xyz") {
				t.Errorf("message holds the sensitive value")
			}
		})
	}
}

func TestValidationErrorCount(t *testing.T) {
	err := (&ListSecretsRequest{
		MaxResults: new(int64(101)),
		NextToken:  new(""),
		SortOrder:  new("x"),
	}).Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 3 {
		t.Fatalf("Validate() = %v, want 3 violations", err)
	}
	if !strings.HasPrefix(err.Error(), "3 validation errors detected: Value '101' at 'maxResults'") ||
		strings.Count(err.Error(), "; ") != 2 {
		t.Errorf("Error() = %q", err)
	}
}
