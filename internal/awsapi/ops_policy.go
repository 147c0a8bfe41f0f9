package awsapi

import (
	"context"

	"github.com/coffer-dev/coffer/internal/awsapi/smapi"
	"github.com/coffer-dev/coffer/internal/secrets"
)

func putResourcePolicy(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.PutResourcePolicyRequest) (*smapi.PutResourcePolicyResponse, error) {
	res, err := h.secrets.PutResourcePolicy(ctx, c, deref(in.SecretId), deref(in.ResourcePolicy), deref(in.BlockPublicPolicy))
	if err != nil {
		return nil, err
	}
	return &smapi.PutResourcePolicyResponse{ARN: &res.ARN, Name: &res.Name}, nil
}

func getResourcePolicy(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.GetResourcePolicyRequest) (*smapi.GetResourcePolicyResponse, error) {
	res, err := h.secrets.GetResourcePolicy(ctx, c, deref(in.SecretId))
	if err != nil {
		return nil, err
	}
	return &smapi.GetResourcePolicyResponse{ARN: &res.ARN, Name: &res.Name, ResourcePolicy: res.Policy}, nil
}

func deleteResourcePolicy(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.DeleteResourcePolicyRequest) (*smapi.DeleteResourcePolicyResponse, error) {
	res, err := h.secrets.DeleteResourcePolicy(ctx, c, deref(in.SecretId))
	if err != nil {
		return nil, err
	}
	return &smapi.DeleteResourcePolicyResponse{ARN: &res.ARN, Name: &res.Name}, nil
}

func validateResourcePolicy(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.ValidateResourcePolicyRequest) (*smapi.ValidateResourcePolicyResponse, error) {
	res, err := h.secrets.ValidateResourcePolicy(ctx, c, in.SecretId, deref(in.ResourcePolicy))
	if err != nil {
		return nil, err
	}
	out := &smapi.ValidateResourcePolicyResponse{
		PolicyValidationPassed: &res.Passed,
		ValidationErrors:       make([]smapi.ValidationErrorsEntry, 0, len(res.Findings)),
	}
	for _, f := range res.Findings {
		out.ValidationErrors = append(out.ValidationErrors, smapi.ValidationErrorsEntry{CheckName: &f.CheckName, ErrorMessage: &f.ErrorMessage})
	}
	return out, nil
}
