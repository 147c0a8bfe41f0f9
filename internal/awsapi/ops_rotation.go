package awsapi

import (
	"context"

	"github.com/coffer-dev/coffer/internal/awsapi/smapi"
	"github.com/coffer-dev/coffer/internal/secrets"
)

func rotateSecret(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.RotateSecretRequest) (*smapi.RotateSecretResponse, error) {
	if len(in.ExternalSecretRotationMetadata) > 0 || in.ExternalSecretRotationRoleArn != nil {
		return nil, errNotSupported("managed external secret rotation (ExternalSecretRotationMetadata, ExternalSecretRotationRoleArn)")
	}
	var rules *secrets.RotationRules
	if r := in.RotationRules; r != nil {
		rules = &secrets.RotationRules{
			AutomaticallyAfterDays: deref(r.AutomaticallyAfterDays),
			ScheduleExpression:     deref(r.ScheduleExpression),
			Duration:               deref(r.Duration),
		}
	}
	res, err := h.secrets.RotateSecret(ctx, c, secrets.RotateInput{
		SecretID:           deref(in.SecretId),
		ClientRequestToken: in.ClientRequestToken,
		RotationLambdaARN:  in.RotationLambdaARN,
		Rules:              rules,
		RotateImmediately:  in.RotateImmediately,
	})
	if err != nil {
		return nil, err
	}
	return &smapi.RotateSecretResponse{ARN: &res.ARN, Name: &res.Name, VersionId: optString(res.VersionID)}, nil
}

func cancelRotateSecret(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.CancelRotateSecretRequest) (*smapi.CancelRotateSecretResponse, error) {
	res, err := h.secrets.CancelRotateSecret(ctx, c, deref(in.SecretId))
	if err != nil {
		return nil, err
	}
	return &smapi.CancelRotateSecretResponse{ARN: &res.ARN, Name: &res.Name, VersionId: optString(res.VersionID)}, nil
}

// rotationRules is DescribeSecret's RotationRules.
func rotationRules(r *secrets.RotationRules) *smapi.RotationRulesType {
	if r == nil {
		return nil
	}
	out := &smapi.RotationRulesType{ScheduleExpression: optString(r.ScheduleExpression), Duration: optString(r.Duration)}
	if r.AutomaticallyAfterDays != 0 {
		n := r.AutomaticallyAfterDays
		out.AutomaticallyAfterDays = &n
	}
	return out
}
