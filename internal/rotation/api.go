package rotation

// This file is the contract between the rotation engine (this package),
// the built-in rotators (rotation/postgres, rotation/mysql) and the custom
// functions (rotation/function): names and signatures are fixed.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// The steps of AWS's rotation protocol, as they appear on the wire.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Event is the Lambda rotation event, exactly as AWS sends it.
type Event struct {
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	Step               string `json:"Step"`
	RotationToken      string `json:"RotationToken,omitempty"`
}

// String prints the event with its RotationToken REDACTED.
func (ev Event) String() string {
	return fmt.Sprintf("{SecretId:%s ClientRequestToken:%s Step:%s RotationToken:%s}",
		ev.SecretID, ev.ClientRequestToken, ev.Step, redacted(ev.RotationToken))
}

// LogValue logs the event with its RotationToken REDACTED.
func (ev Event) LogValue() slog.Value {
	return slog.GroupValue(slog.String("SecretId", ev.SecretID),
		slog.String("ClientRequestToken", ev.ClientRequestToken), slog.String("Step", ev.Step),
		slog.String("RotationToken", redacted(ev.RotationToken)))
}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// Function runs one step of a rotation. It returns what the function wrote
// for the operator (its log, stderr), which must never hold a secret value
// (the built-ins write none), and an error when the step failed.
type Function interface {
	Invoke(ctx context.Context, ev Event) (log string, err error)
}

// Checker is an optional interface of a Function: coffer rotate --dry-run
// calls it to check, without changing anything, that setSecret and
// testSecret will work (connect with the current credentials, check the
// privileges to change the password or clone the user).
type Checker interface {
	Check(ctx context.Context, secretID string) error
}

// ErrNotFound is what SecretsAPI methods return (wrapped or bare) when the
// secret or the asked version does not exist: the templates'
// ResourceNotFoundException.
var ErrNotFound = errors.New("rotation: not found")

// Description is the part of DescribeSecret a rotator reads.
type Description struct {
	ARN                string
	Name               string
	RotationEnabled    bool
	VersionIDsToStages map[string][]string
}

// PasswordOptions are GetRandomPassword's parameters, as AWS's templates
// pass them (from their environment: EXCLUDE_CHARACTERS, ...).
type PasswordOptions struct {
	Length                  int // 0: 32
	ExcludeCharacters       string
	ExcludeNumbers          bool
	ExcludePunctuation      bool
	ExcludeUppercase        bool
	ExcludeLowercase        bool
	IncludeSpace            bool
	RequireEachIncludedType bool
}

// SecretsAPI is the Secrets Manager API as a rotator sees it, in the
// account of the secret being rotated: the calls AWS's templates make with
// boto3. The engine implements it over package secrets; a built-in rotator
// gets one from its constructor.
type SecretsAPI interface {
	DescribeSecret(ctx context.Context, secretID string) (*Description, error)
	// GetSecretValue returns the SecretString of the version named by
	// versionID and/or stage (either may be ""), or ErrNotFound.
	GetSecretValue(ctx context.Context, secretID, versionID, stage string) (string, error)
	// PutSecretValue stores value as version token with the given stages.
	PutSecretValue(ctx context.Context, secretID, token, value string, stages []string) error
	UpdateSecretVersionStage(ctx context.Context, secretID, stage, moveTo, removeFrom string) error
	GetRandomPassword(ctx context.Context, opts PasswordOptions) (string, error)
}
