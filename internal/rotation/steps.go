package rotation

// The step logic AWS's database rotation templates share, for the built-in
// rotators (rotation/postgres, rotation/mysql): StartStep (template.go)
// checks an event, Steps.Run runs the step it names and FinishStep is the
// templates' finish_secret. A rotator keeps its database's part: reading
// and checking a secret, logging in and changing a password.

import (
	"context"
	"fmt"
	"slices"

	"github.com/coffer-dev/coffer/internal/secrets"
)

// Steps are the four steps of a built-in rotator, each run for the secret
// arn and the version token with the rotator's log L.
type Steps[L any] struct {
	Create, Set, Test, Finish func(ctx context.Context, arn, token string, l L) error
}

// Run runs the step ev names with l, as the templates' lambda_handler does.
// Call it once StartStep has accepted ev: StartStep refuses any other step,
// so Run takes a step it does not know for finishSecret.
func (s Steps[L]) Run(ctx context.Context, ev Event, l L) error {
	arn, token := ev.SecretID, ev.ClientRequestToken
	switch ev.Step {
	case StepCreate:
		return s.Create(ctx, arn, token, l)
	case StepSet:
		return s.Set(ctx, arn, token, l)
	case StepTest:
		return s.Test(ctx, arn, token, l)
	default:
		return s.Finish(ctx, arn, token, l)
	}
}

// FinishStep is the templates' finish_secret: it moves AWSCURRENT to
// version token of the secret arn, from the version that holds it, unless
// token holds it already (logf says so). Its messages name the secret and
// the version, never a value.
func FinishStep(ctx context.Context, api SecretsAPI, arn, token string, logf func(format string, args ...any)) error {
	meta, err := api.DescribeSecret(ctx, arn)
	if err != nil {
		return fmt.Errorf("describe secret %s: %w", arn, err)
	}
	current := ""
	for v, stages := range meta.VersionIDsToStages {
		if slices.Contains(stages, secrets.StageCurrent) {
			if v == token {
				logf("finishSecret: Version %s already marked as AWSCURRENT for %s", v, arn)
				return nil
			}
			current = v
			break
		}
	}
	if err := api.UpdateSecretVersionStage(ctx, arn, secrets.StageCurrent, token, current); err != nil {
		return fmt.Errorf("move AWSCURRENT to version %s: %w", token, err)
	}
	logf("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s.", token, arn)
	return nil
}
