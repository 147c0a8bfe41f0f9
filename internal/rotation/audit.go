package rotation

// Audit of rotations (BEHAVIOUR.md §15.1): the engine records service
// events (RotationStarted, RotationSucceeded, RotationFailed,
// RotationAbandoned and the TestRotation* events of a validation run) with
// Trail.Record, and the built-in rotators' calls through the SecretsAPI
// adapter are recorded as API calls made by the service itself
// (userIdentity type AWSService, invokedBy secretsmanager.amazonaws.com).
// With no trail (auditing off, benchmarks only) nothing is recorded.

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/secrets"
)

const smService = "secretsmanager.amazonaws.com"

// errorCode is the record's errorCode and errorMessage for err.
func errorCode(err error) (code, msg string) {
	var de *secrets.Error
	if errors.As(err, &de) {
		if c := de.Kind.Code(); c != "" && de.Kind != secrets.KindInternal {
			return c, de.Message
		}
	}
	return "InternalServiceError", "An error occurred on the server side."
}

// event records a service event about the secret of st. errMsg is set for
// failures. A failure to record is logged: the rotation itself is done.
func (e *Engine) event(ctx context.Context, st *secrets.RotationStatus, name, errMsg string) {
	if e.cfg.Trail == nil {
		return
	}
	reqID := "Rotation-" + st.ARN + "-" + uuid.NewString()
	if st.Run != nil {
		reqID = "Rotation-" + st.ARN + "-" + st.Run.VersionID
	}
	rec := &audit.Record{
		UserIdentity:        &audit.UserIdentity{AccountID: st.Account, InvokedBy: smService},
		EventSource:         smService,
		EventName:           name,
		AWSRegion:           st.Region,
		SourceIPAddress:     smService,
		UserAgent:           smService,
		ErrorMessage:        errMsg,
		AdditionalEventData: map[string]any{"SecretId": st.ARN},
		RequestID:           reqID,
		EventType:           "AwsServiceEvent",
		ManagementEvent:     true,
		EventCategory:       "Management",
		RecipientAccountID:  st.Account,
		Resources:           []audit.Resource{{ARN: st.ARN, AccountID: st.Account, Type: "AWS::SecretsManager::Secret"}},
	}
	if err := e.cfg.Trail.Record(context.WithoutCancel(ctx), rec); err != nil {
		e.log.Error("audit: recording a rotation event failed", "secret", st.ARN, "event", name, "err", err)
	}
}

// eventName is the name of a service event of a run: RotationX, or
// TestRotationX for a validation run.
func eventName(run *secrets.RotationRun, what string) string {
	if run != nil && run.Validation {
		return "TestRotation" + what
	}
	return "Rotation" + what
}

// auditCall wraps one call of a built-in rotator through the SecretsAPI
// adapter in a pending record whose caller is the service itself, and
// records its outcome before the result goes back to the rotator.
func (a *serviceAPI) auditCall(ctx context.Context, op string, params map[string]any, call func(ctx context.Context) error) error {
	if a.trail == nil {
		return call(ctx)
	}
	account, region := a.caller.Account, a.caller.Region
	rec := &audit.Record{
		UserIdentity:       &audit.UserIdentity{Type: "AWSService", AccountID: account, InvokedBy: smService},
		EventSource:        smService,
		EventName:          op,
		AWSRegion:          region,
		SourceIPAddress:    smService,
		UserAgent:          smService,
		RequestParameters:  params,
		RequestID:          uuid.NewString(),
		ReadOnly:           strings.HasPrefix(op, "Get") || strings.HasPrefix(op, "Describe"),
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		EventCategory:      "Management",
		RecipientAccountID: account,
	}
	if id, ok := params["secretId"].(string); ok && strings.HasPrefix(id, "arn:") {
		rec.Resources = []audit.Resource{{ARN: id, AccountID: account, Type: "AWS::SecretsManager::Secret"}}
	}
	p := audit.NewPending(rec)
	err := call(audit.WithPending(ctx, p))
	code, msg := "", ""
	if err != nil {
		code, msg = errorCode(err)
	}
	if ferr := p.Finish(context.WithoutCancel(ctx), a.trail, code, msg, nil); ferr != nil {
		// Fail closed: the rotator sees a failure, not a value.
		return errors.Join(errors.New("audit: recording the call failed"), ferr)
	}
	return err
}
