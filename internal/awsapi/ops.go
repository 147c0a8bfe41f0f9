package awsapi

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/awsapi/smapi"
	"github.com/coffer-dev/coffer/internal/secrets"
)

// opFunc serves one operation from a verified request body.
type opFunc func(ctx context.Context, h *Handler, c secrets.Caller, body []byte) (any, error)

// validator is what every generated request type implements.
type validator[T any] interface {
	*T
	Validate() error
}

// op adapts a typed operation: decode the body into In, validate it against
// the model's constraints, then call fn.
func op[In any, PIn validator[In], Out any](fn func(ctx context.Context, h *Handler, c secrets.Caller, in *In) (*Out, error)) opFunc {
	return func(ctx context.Context, h *Handler, c secrets.Caller, body []byte) (any, error) {
		in := new(In)
		if err := decode(body, in); err != nil {
			return nil, err
		}
		auditParams(ctx, in)
		if err := PIn(in).Validate(); err != nil {
			return nil, err
		}
		return fn(ctx, h, c, in)
	}
}

// unsupported answers an operation of a later release with a clear error,
// after the same decoding and validation as a supported one.
func unsupported[In any, PIn validator[In]](name string) opFunc {
	return op[In, PIn, struct{}](func(context.Context, *Handler, secrets.Caller, *In) (*struct{}, error) {
		return nil, errNotSupported(name)
	})
}

// operations maps X-Amz-Target operation names to their handlers.
var operations = map[string]opFunc{
	"CreateSecret":   op[smapi.CreateSecretRequest](createSecret),
	"GetSecretValue": op[smapi.GetSecretValueRequest](getSecretValue),
	"PutSecretValue": op[smapi.PutSecretValueRequest](putSecretValue),
	"DescribeSecret": op[smapi.DescribeSecretRequest](describeSecret),
	"ListSecrets":    op[smapi.ListSecretsRequest](listSecrets),
	"DeleteSecret":   op[smapi.DeleteSecretRequest](deleteSecret),
	"RestoreSecret":  op[smapi.RestoreSecretRequest](restoreSecret),

	"BatchGetSecretValue":          op[smapi.BatchGetSecretValueRequest](batchGetSecretValue),
	"CancelRotateSecret":           op[smapi.CancelRotateSecretRequest](cancelRotateSecret),
	"DeleteResourcePolicy":         op[smapi.DeleteResourcePolicyRequest](deleteResourcePolicy),
	"GetRandomPassword":            op[smapi.GetRandomPasswordRequest](getRandomPassword),
	"GetResourcePolicy":            op[smapi.GetResourcePolicyRequest](getResourcePolicy),
	"ListSecretVersionIds":         op[smapi.ListSecretVersionIdsRequest](listSecretVersionIds),
	"PutResourcePolicy":            op[smapi.PutResourcePolicyRequest](putResourcePolicy),
	"RemoveRegionsFromReplication": unsupported[smapi.RemoveRegionsFromReplicationRequest]("RemoveRegionsFromReplication"),
	"ReplicateSecretToRegions":     unsupported[smapi.ReplicateSecretToRegionsRequest]("ReplicateSecretToRegions"),
	"RotateSecret":                 op[smapi.RotateSecretRequest](rotateSecret),
	"StopReplicationToReplica":     unsupported[smapi.StopReplicationToReplicaRequest]("StopReplicationToReplica"),
	"TagResource":                  op[smapi.TagResourceRequest](tagResource),
	"UntagResource":                op[smapi.UntagResourceRequest](untagResource),
	"UpdateSecret":                 op[smapi.UpdateSecretRequest](updateSecret),
	"UpdateSecretVersionStage":     op[smapi.UpdateSecretVersionStageRequest](updateSecretVersionStage),
	"ValidateResourcePolicy":       op[smapi.ValidateResourcePolicyRequest](validateResourcePolicy),
}

func createSecret(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.CreateSecretRequest) (*smapi.CreateSecretResponse, error) {
	if len(in.AddReplicaRegions) > 0 {
		return nil, errNotSupported("replication (AddReplicaRegions)")
	}
	tags := make([]secrets.Tag, 0, len(in.Tags))
	for _, t := range in.Tags {
		tags = append(tags, secrets.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	res, err := h.secrets.CreateSecret(ctx, c, secrets.CreateInput{
		Name:               deref(in.Name),
		ClientRequestToken: in.ClientRequestToken,
		Description:        in.Description,
		KmsKeyID:           in.KmsKeyId,
		SecretString:       in.SecretString,
		SecretBinary:       in.SecretBinary,
		Tags:               tags,
		Type:               in.Type,
	})
	if err != nil {
		return nil, err
	}
	return &smapi.CreateSecretResponse{ARN: &res.ARN, Name: &res.Name, VersionId: optString(res.VersionID)}, nil
}

func getSecretValue(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.GetSecretValueRequest) (*smapi.GetSecretValueResponse, error) {
	v, err := h.secrets.GetSecretValue(ctx, c, secrets.GetValueInput{
		SecretID: deref(in.SecretId), VersionID: in.VersionId, VersionStage: in.VersionStage,
	})
	if err != nil {
		return nil, err
	}
	out := &smapi.GetSecretValueResponse{
		ARN: &v.ARN, Name: &v.Name, VersionId: &v.VersionID,
		VersionStages: v.Stages, CreatedDate: timestamp(v.Created),
	}
	if v.Value.IsBinary() {
		out.SecretBinary = v.Value.Bytes()
	} else {
		s := v.Value.Text()
		out.SecretString = &s
	}
	return out, nil
}

func putSecretValue(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.PutSecretValueRequest) (*smapi.PutSecretValueResponse, error) {
	res, err := h.secrets.PutSecretValue(ctx, c, secrets.PutInput{
		SecretID:           deref(in.SecretId),
		ClientRequestToken: in.ClientRequestToken,
		SecretString:       in.SecretString,
		SecretBinary:       in.SecretBinary,
		VersionStages:      in.VersionStages,
		RotationToken:      in.RotationToken,
	})
	if err != nil {
		return nil, err
	}
	return &smapi.PutSecretValueResponse{ARN: &res.ARN, Name: &res.Name, VersionId: &res.VersionID, VersionStages: res.Stages}, nil
}

func describeSecret(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.DescribeSecretRequest) (*smapi.DescribeSecretResponse, error) {
	m, err := h.secrets.DescribeSecret(ctx, c, deref(in.SecretId))
	if err != nil {
		return nil, err
	}
	return &smapi.DescribeSecretResponse{
		ARN:                &m.ARN,
		Name:               &m.Name,
		Description:        optString(m.Description),
		KmsKeyId:           optString(m.KmsKeyID),
		Type:               optString(m.Type),
		Tags:               tags(m),
		VersionIdsToStages: m.VersionIDsToStages,
		CreatedDate:        timestamp(m.Created),
		LastChangedDate:    timestamp(m.LastChanged),
		LastAccessedDate:   timestamp(m.LastAccessed),
		DeletedDate:        timestamp(m.DeletedDate),
		RotationEnabled:    m.RotationEnabled,
		RotationLambdaARN:  optString(m.RotationLambdaARN),
		RotationRules:      rotationRules(m.RotationRules),
		LastRotatedDate:    timestamp(m.LastRotated),
		NextRotationDate:   timestamp(m.NextRotation),
	}, nil
}

func listSecrets(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.ListSecretsRequest) (*smapi.ListSecretsResponse, error) {
	res, err := h.secrets.ListSecrets(ctx, c, secrets.ListInput{
		IncludePlannedDeletion: deref(in.IncludePlannedDeletion),
		MaxResults:             int(deref(in.MaxResults)),
		NextToken:              deref(in.NextToken),
		Filters:                filters(in.Filters),
		SortBy:                 in.SortBy,
		SortOrder:              in.SortOrder,
	})
	if err != nil {
		return nil, err
	}
	out := &smapi.ListSecretsResponse{SecretList: make([]smapi.SecretListEntry, 0, len(res.Secrets)), NextToken: optString(res.NextToken)}
	for _, m := range res.Secrets {
		out.SecretList = append(out.SecretList, smapi.SecretListEntry{
			ARN:                    &m.ARN,
			Name:                   &m.Name,
			Description:            optString(m.Description),
			KmsKeyId:               optString(m.KmsKeyID),
			Type:                   optString(m.Type),
			Tags:                   tags(m),
			SecretVersionsToStages: m.VersionIDsToStages,
			CreatedDate:            timestamp(m.Created),
			LastChangedDate:        timestamp(m.LastChanged),
			LastAccessedDate:       timestamp(m.LastAccessed),
			DeletedDate:            timestamp(m.DeletedDate),
			RotationEnabled:        m.RotationEnabled,
			RotationLambdaARN:      optString(m.RotationLambdaARN),
			RotationRules:          rotationRules(m.RotationRules),
			LastRotatedDate:        timestamp(m.LastRotated),
			NextRotationDate:       timestamp(m.NextRotation),
		})
	}
	return out, nil
}

func deleteSecret(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.DeleteSecretRequest) (*smapi.DeleteSecretResponse, error) {
	res, err := h.secrets.DeleteSecret(ctx, c, secrets.DeleteInput{
		SecretID:                   deref(in.SecretId),
		RecoveryWindowInDays:       in.RecoveryWindowInDays,
		ForceDeleteWithoutRecovery: in.ForceDeleteWithoutRecovery,
	})
	if err != nil {
		return nil, err
	}
	return &smapi.DeleteSecretResponse{ARN: &res.ARN, Name: &res.Name, DeletionDate: timestamp(res.DeletionDate)}, nil
}

func restoreSecret(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.RestoreSecretRequest) (*smapi.RestoreSecretResponse, error) {
	res, err := h.secrets.RestoreSecret(ctx, c, deref(in.SecretId))
	if err != nil {
		return nil, err
	}
	return &smapi.RestoreSecretResponse{ARN: &res.ARN, Name: &res.Name}, nil
}

// tags renders a secret's tags: omitted until tags were ever attached, then
// always present (an emptied list is "Tags": []).
func tags(m *secrets.Metadata) []smapi.Tag {
	if !m.TagsSet {
		return nil
	}
	out := make([]smapi.Tag, 0, len(m.Tags))
	for _, t := range m.Tags {
		out = append(out, smapi.Tag{Key: &t.Key, Value: &t.Value})
	}
	return out
}

func timestamp(t time.Time) *smapi.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &smapi.Timestamp{Time: t}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// filters passes the filters of a request on as sent: the model's
// constraints are checked already, the domain checks the rest (a missing
// Key or Values is InvalidParameterException).
func filters(in []smapi.Filter) []secrets.Filter {
	out := make([]secrets.Filter, 0, len(in))
	for _, f := range in {
		out = append(out, secrets.Filter{Key: f.Key, Values: f.Values})
	}
	return out
}
