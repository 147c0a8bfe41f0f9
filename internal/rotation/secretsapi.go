package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/secrets"
)

// serviceAPI is SecretsAPI over package secrets, in one account, as that
// account's root (secrets.SystemCaller): the built-ins act for coffer.
type serviceAPI struct {
	svc    *secrets.Service
	caller secrets.Caller
	trail  *audit.Trail // nil: calls are not recorded (audit.go)
}

// NewSecretsAPI returns the Secrets Manager API of account in region over
// svc, acting as coffer itself.
func NewSecretsAPI(svc *secrets.Service, partition, account, region string) SecretsAPI {
	return &serviceAPI{svc: svc, caller: secrets.SystemCaller(partition, account, region)}
}

// wrap keeps the domain's message and makes a missing secret or version
// ErrNotFound.
func wrap(err error) error {
	var de *secrets.Error
	if errors.As(err, &de) && de.Kind == secrets.KindResourceNotFound {
		return fmt.Errorf("%w: %s", ErrNotFound, de.Message)
	}
	return err
}

func (a *serviceAPI) DescribeSecret(ctx context.Context, secretID string) (*Description, error) {
	var m *secrets.Metadata
	err := a.auditCall(ctx, "DescribeSecret", map[string]any{"secretId": secretID}, func(ctx context.Context) error {
		var err error
		m, err = a.svc.DescribeSecret(ctx, a.caller, secretID)
		return err
	})
	if err != nil {
		return nil, wrap(err)
	}
	d := &Description{ARN: m.ARN, Name: m.Name, VersionIDsToStages: m.VersionIDsToStages}
	if m.RotationEnabled != nil {
		d.RotationEnabled = *m.RotationEnabled
	}
	if d.VersionIDsToStages == nil {
		d.VersionIDsToStages = map[string][]string{}
	}
	return d, nil
}

func (a *serviceAPI) GetSecretValue(ctx context.Context, secretID, versionID, stage string) (string, error) {
	in := secrets.GetValueInput{SecretID: secretID}
	if versionID != "" {
		in.VersionID = &versionID
	}
	if stage != "" {
		in.VersionStage = &stage
	}
	params := map[string]any{"secretId": secretID}
	if versionID != "" {
		params["versionId"] = versionID
	}
	if stage != "" {
		params["versionStage"] = stage
	}
	var v *secrets.SecretValue
	err := a.auditCall(ctx, "GetSecretValue", params, func(ctx context.Context) error {
		var err error
		v, err = a.svc.GetSecretValue(ctx, a.caller, in)
		return err
	})
	if err != nil {
		return "", wrap(err)
	}
	if v.Value.IsBinary() {
		return "", errors.New("the secret value is binary, not a SecretString")
	}
	return v.Value.Text(), nil
}

func (a *serviceAPI) PutSecretValue(ctx context.Context, secretID, token, value string, stages []string) error {
	params := map[string]any{"secretId": secretID, "clientRequestToken": token}
	if stages != nil {
		params["versionStages"] = stages
	}
	return wrap(a.auditCall(ctx, "PutSecretValue", params, func(ctx context.Context) error {
		_, err := a.svc.PutSecretValue(ctx, a.caller, secrets.PutInput{
			SecretID: secretID, ClientRequestToken: &token, SecretString: &value, VersionStages: stages,
		})
		return err
	}))
}

func (a *serviceAPI) UpdateSecretVersionStage(ctx context.Context, secretID, stage, moveTo, removeFrom string) error {
	in := secrets.StageInput{SecretID: secretID, VersionStage: stage}
	if moveTo != "" {
		in.MoveToVersionID = &moveTo
	}
	if removeFrom != "" {
		in.RemoveFromVersionID = &removeFrom
	}
	params := map[string]any{"secretId": secretID, "versionStage": stage}
	if moveTo != "" {
		params["moveToVersionId"] = moveTo
	}
	if removeFrom != "" {
		params["removeFromVersionId"] = removeFrom
	}
	return wrap(a.auditCall(ctx, "UpdateSecretVersionStage", params, func(ctx context.Context) error {
		_, err := a.svc.UpdateSecretVersionStage(ctx, a.caller, in)
		return err
	}))
}

func (a *serviceAPI) GetRandomPassword(ctx context.Context, o PasswordOptions) (string, error) {
	req := o.RequireEachIncludedType
	params := map[string]any{"passwordLength": o.Length, "excludeCharacters": o.ExcludeCharacters,
		"excludeNumbers": o.ExcludeNumbers, "excludePunctuation": o.ExcludePunctuation,
		"excludeUppercase": o.ExcludeUppercase, "excludeLowercase": o.ExcludeLowercase,
		"includeSpace": o.IncludeSpace, "requireEachIncludedType": req}
	var pw string
	err := a.auditCall(ctx, "GetRandomPassword", params, func(ctx context.Context) error {
		var err error
		pw, err = a.svc.GetRandomPassword(ctx, a.caller, secrets.PasswordInput{
			Length: int64(o.Length), ExcludeCharacters: o.ExcludeCharacters,
			ExcludeNumbers: o.ExcludeNumbers, ExcludePunctuation: o.ExcludePunctuation,
			ExcludeUppercase: o.ExcludeUppercase, ExcludeLowercase: o.ExcludeLowercase,
			IncludeSpace: o.IncludeSpace, RequireEachIncludedType: &req,
		})
		return err
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}
