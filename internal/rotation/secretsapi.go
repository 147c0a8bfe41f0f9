package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/secrets"
)

// serviceAPI is SecretsAPI over package secrets, in one account, as that
// account's root (secrets.SystemCaller): the built-ins act for coffer.
type serviceAPI struct {
	svc    *secrets.Service
	caller secrets.Caller
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
	m, err := a.svc.DescribeSecret(ctx, a.caller, secretID)
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
	v, err := a.svc.GetSecretValue(ctx, a.caller, in)
	if err != nil {
		return "", wrap(err)
	}
	if v.Value.IsBinary() {
		return "", errors.New("the secret value is binary, not a SecretString")
	}
	return v.Value.Text(), nil
}

func (a *serviceAPI) PutSecretValue(ctx context.Context, secretID, token, value string, stages []string) error {
	_, err := a.svc.PutSecretValue(ctx, a.caller, secrets.PutInput{
		SecretID: secretID, ClientRequestToken: &token, SecretString: &value, VersionStages: stages,
	})
	return wrap(err)
}

func (a *serviceAPI) UpdateSecretVersionStage(ctx context.Context, secretID, stage, moveTo, removeFrom string) error {
	in := secrets.StageInput{SecretID: secretID, VersionStage: stage}
	if moveTo != "" {
		in.MoveToVersionID = &moveTo
	}
	if removeFrom != "" {
		in.RemoveFromVersionID = &removeFrom
	}
	_, err := a.svc.UpdateSecretVersionStage(ctx, a.caller, in)
	return wrap(err)
}

func (a *serviceAPI) GetRandomPassword(ctx context.Context, o PasswordOptions) (string, error) {
	req := o.RequireEachIncludedType
	return a.svc.GetRandomPassword(ctx, a.caller, secrets.PasswordInput{
		Length: int64(o.Length), ExcludeCharacters: o.ExcludeCharacters,
		ExcludeNumbers: o.ExcludeNumbers, ExcludePunctuation: o.ExcludePunctuation,
		ExcludeUppercase: o.ExcludeUppercase, ExcludeLowercase: o.ExcludeLowercase,
		IncludeSpace: o.IncludeSpace, RequireEachIncludedType: &req,
	})
}
