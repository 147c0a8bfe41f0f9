package secrets

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Audit (BEHAVIOUR.md §15): the front door (internal/awsapi) puts an
// audit.Pending in the context of every call. Each write below commits
// that record inside the transaction of the change it records
// (commitAudit), so the change and its record are durable together or not
// at all: a failing append rolls the write back and the call fails with
// InternalServiceError. Reads, refusals and failed calls are recorded by
// the front door's Pending.Finish. Calls without a Pending (internal
// callers, the rotation engine's own bookkeeping) record nothing here.

// secretResource names a secret in a record's resources.
func secretResource(account, arn string) audit.Resource {
	return audit.Resource{ARN: arn, AccountID: account, Type: "AWS::SecretsManager::Secret"}
}

// commitAudit appends the call's pending record inside tx, as succeeded
// with response elements resp, about the secret arn of account.
func (s *Service) commitAudit(ctx context.Context, tx storage.Tx, account, arn string, resp map[string]any) error {
	p := audit.PendingFrom(ctx)
	if p == nil || s.trail == nil {
		return nil
	}
	if account != "" {
		p.Record().RecipientAccountID = account
	}
	return p.Commit(tx, s.trail, resp, secretResource(account, arn))
}

// elems are a write's response elements as CloudTrail keeps them.
func elems(arn, name, versionID string) map[string]any {
	m := map[string]any{"arn": arn, "name": name}
	if versionID != "" {
		m["versionId"] = versionID
	}
	return m
}

func deleteElems(r *DeleteResult) map[string]any {
	m := elems(r.ARN, r.Name, "")
	m["deletionDate"] = r.DeletionDate.UTC().Format(time.RFC3339)
	return m
}

// serviceEvent is a record of something the service did on its own
// (BEHAVIOUR.md §15.1): no caller, no parameters.
func serviceEvent(name, account, region, arn string) *audit.Record {
	return &audit.Record{
		UserIdentity:        &audit.UserIdentity{AccountID: account, InvokedBy: audit.SourceSecretsManager},
		EventSource:         audit.SourceSecretsManager,
		EventName:           name,
		AWSRegion:           region,
		SourceIPAddress:     audit.SourceSecretsManager,
		UserAgent:           audit.SourceSecretsManager,
		AdditionalEventData: map[string]any{"SecretId": arn},
		EventType:           audit.TypeServiceEvent,
		ManagementEvent:     true,
		EventCategory:       "Management",
		RecipientAccountID:  account,
	}
}
