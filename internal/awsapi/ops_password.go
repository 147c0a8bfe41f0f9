package awsapi

import (
	"context"

	"github.com/coffer-dev/coffer/internal/awsapi/smapi"
	"github.com/coffer-dev/coffer/internal/secrets"
)

// getRandomPassword serves GetRandomPassword (BEHAVIOUR.md §9). The model's
// bounds (PasswordLength 1-4096, ExcludeCharacters at most 4096) were checked
// by Validate; absent members take AWS's defaults in the domain.
func getRandomPassword(ctx context.Context, h *Handler, c secrets.Caller, in *smapi.GetRandomPasswordRequest) (*smapi.GetRandomPasswordResponse, error) {
	p, err := h.secrets.GetRandomPassword(ctx, c, secrets.PasswordInput{
		Length:                  deref(in.PasswordLength),
		ExcludeCharacters:       deref(in.ExcludeCharacters),
		ExcludeNumbers:          deref(in.ExcludeNumbers),
		ExcludePunctuation:      deref(in.ExcludePunctuation),
		ExcludeUppercase:        deref(in.ExcludeUppercase),
		ExcludeLowercase:        deref(in.ExcludeLowercase),
		IncludeSpace:            deref(in.IncludeSpace),
		RequireEachIncludedType: in.RequireEachIncludedType,
	})
	if err != nil {
		return nil, err
	}
	return &smapi.GetRandomPasswordResponse{RandomPassword: &p}, nil
}
