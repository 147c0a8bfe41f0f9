package rotation

import (
	"context"
	"fmt"
	"slices"

	"github.com/coffer-dev/coffer/internal/secrets"
)

// StartStep is what every one of AWS's rotation templates checks in its
// lambda_handler before a step, for the built-in rotators: the secret has
// rotation enabled, ev's ClientRequestToken is one of its versions, that
// version is not AWSCURRENT already and is AWSPENDING, and ev.Step is one
// of the four steps. It returns done when the version is AWSCURRENT (the
// step has nothing to do; logf says so), an error when a check fails. Its
// messages name the secret and the version, never a value.
func StartStep(ctx context.Context, api SecretsAPI, ev Event, logf func(format string, args ...any)) (done bool, err error) {
	arn, token := ev.SecretID, ev.ClientRequestToken
	meta, err := api.DescribeSecret(ctx, arn)
	if err != nil {
		return false, fmt.Errorf("describe secret %s: %w", arn, err)
	}
	if !meta.RotationEnabled {
		return false, fmt.Errorf("secret %s is not enabled for rotation", arn)
	}
	stages, ok := meta.VersionIDsToStages[token]
	if !ok {
		return false, fmt.Errorf("secret version %s has no stage for rotation of secret %s", token, arn)
	}
	if slices.Contains(stages, secrets.StageCurrent) {
		logf("Secret version %s already set as AWSCURRENT for secret %s.", token, arn)
		return true, nil
	}
	if !slices.Contains(stages, secrets.StagePending) {
		return false, fmt.Errorf("secret version %s not set as AWSPENDING for rotation of secret %s", token, arn)
	}
	switch ev.Step {
	case StepCreate, StepSet, StepTest, StepFinish:
		return false, nil
	}
	return false, fmt.Errorf("invalid step parameter %q for secret %s", ev.Step, arn)
}
