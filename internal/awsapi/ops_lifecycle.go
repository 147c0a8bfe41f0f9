package awsapi

import (
	"context"

	"github.com/coffer-dev/coffer/internal/awsapi/smapi"
	"github.com/coffer-dev/coffer/internal/secrets"
)

func updateSecret(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.UpdateSecretRequest) (*smapi.UpdateSecretResponse, error) {
	res, err := h.secrets.UpdateSecret(ctx, c, secrets.UpdateInput{
		SecretID:           deref(in.SecretId),
		ClientRequestToken: in.ClientRequestToken,
		Description:        in.Description,
		KmsKeyID:           in.KmsKeyId,
		SecretString:       in.SecretString,
		SecretBinary:       in.SecretBinary,
		Type:               in.Type,
	})
	if err != nil {
		return nil, err
	}
	return &smapi.UpdateSecretResponse{ARN: &res.ARN, Name: &res.Name, VersionId: optString(res.VersionID)}, nil
}

func updateSecretVersionStage(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.UpdateSecretVersionStageRequest) (*smapi.UpdateSecretVersionStageResponse, error) {
	res, err := h.secrets.UpdateSecretVersionStage(ctx, c, secrets.StageInput{
		SecretID:            deref(in.SecretId),
		VersionStage:        deref(in.VersionStage),
		MoveToVersionID:     in.MoveToVersionId,
		RemoveFromVersionID: in.RemoveFromVersionId,
	})
	if err != nil {
		return nil, err
	}
	return &smapi.UpdateSecretVersionStageResponse{ARN: &res.ARN, Name: &res.Name}, nil
}

func listSecretVersionIds(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.ListSecretVersionIdsRequest) (*smapi.ListSecretVersionIdsResponse, error) {
	res, err := h.secrets.ListSecretVersionIds(ctx, c, secrets.ListVersionsInput{
		SecretID:          deref(in.SecretId),
		IncludeDeprecated: deref(in.IncludeDeprecated),
		MaxResults:        int(deref(in.MaxResults)),
		NextToken:         deref(in.NextToken),
	})
	if err != nil {
		return nil, err
	}
	out := &smapi.ListSecretVersionIdsResponse{ARN: &res.ARN, Name: &res.Name,
		Versions: make([]smapi.SecretVersionsListEntry, 0, len(res.Versions)), NextToken: optString(res.NextToken)}
	for _, v := range res.Versions {
		out.Versions = append(out.Versions, smapi.SecretVersionsListEntry{
			VersionId:        &v.VersionID,
			VersionStages:    v.Stages,
			CreatedDate:      timestamp(v.Created),
			LastAccessedDate: timestamp(v.LastAccessed),
			KmsKeyIds:        v.KmsKeyIDs,
		})
	}
	return out, nil
}

func tagResource(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.TagResourceRequest) (*struct{}, error) {
	tags := make([]secrets.Tag, 0, len(in.Tags))
	for _, t := range in.Tags {
		tags = append(tags, secrets.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	if err := h.secrets.TagResource(ctx, c, deref(in.SecretId), tags); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

func untagResource(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.UntagResourceRequest) (*struct{}, error) {
	if err := h.secrets.UntagResource(ctx, c, deref(in.SecretId), in.TagKeys); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

func batchGetSecretValue(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.BatchGetSecretValueRequest) (*smapi.BatchGetSecretValueResponse, error) {
	switch {
	case in.SecretIdList != nil && in.Filters != nil:
		return nil, &secrets.Error{Kind: secrets.KindInvalidParameter, Message: "Either 'SecretIdList' or 'Filters' must be provided, but not both."}
	case in.MaxResults != nil && in.Filters == nil:
		return nil, &secrets.Error{Kind: secrets.KindInvalidParameter, Message: "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided."}
	case in.SecretIdList == nil && in.Filters == nil:
		return nil, &secrets.Error{Kind: secrets.KindInvalidParameter, Message: "Either 'SecretIdList' or 'Filters' must be provided."}
	}
	var res *secrets.BatchResult
	var err error
	if in.Filters != nil {
		res, err = h.secrets.BatchGetSecretValueByFilters(ctx, c, filters(in.Filters), int(deref(in.MaxResults)), deref(in.NextToken))
	} else {
		res, err = h.secrets.BatchGetSecretValue(ctx, c, in.SecretIdList)
	}
	if err != nil {
		return nil, err
	}
	if err := h.auditBatchValues(ctx, res); err != nil {
		return nil, err
	}
	return batchResponse(res), nil
}

func batchResponse(res *secrets.BatchResult) *smapi.BatchGetSecretValueResponse {
	out := &smapi.BatchGetSecretValueResponse{
		SecretValues: make([]smapi.SecretValueEntry, 0, len(res.Values)),
		Errors:       make([]smapi.APIErrorType, 0, len(res.Errors)),
		NextToken:    optString(res.NextToken),
	}
	for _, v := range res.Values {
		e := smapi.SecretValueEntry{ARN: &v.ARN, Name: &v.Name, VersionId: &v.VersionID,
			VersionStages: v.Stages, CreatedDate: timestamp(v.Created)}
		if v.Value.IsBinary() {
			e.SecretBinary = v.Value.Bytes()
		} else {
			s := v.Value.Text()
			e.SecretString = &s
		}
		out.SecretValues = append(out.SecretValues, e)
	}
	for _, e := range res.Errors {
		ae, _ := toAPIError(e.Err)
		out.Errors = append(out.Errors, smapi.APIErrorType{SecretId: &e.SecretID, ErrorCode: &ae.Code, Message: &ae.Message})
	}
	return out
}
