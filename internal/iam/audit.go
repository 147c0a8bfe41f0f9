package iam

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Audit (BEHAVIOUR.md §15): the front door (internal/awsapi) puts an
// audit.Pending in the context of every IAM and STS call, and the CLI puts
// one in the context of `coffer account create`. Each write below commits
// that record inside the transaction of the change it records
// (commitAudit), so the change and its record are durable together or not
// at all: a failing append rolls the write back and the call fails. Reads,
// refusals and failed calls are recorded by the front door's
// Pending.Finish. With no trail (SetTrail not called, or auditing off) or
// no Pending in the context nothing is recorded here.
//
// Response elements never hold a secret: CreateAccessKey's record names the
// key id, never the secret access key (the audit package refuses a record
// carrying a secretAccessKey member anyway).
//
// The service role coffer creates or repairs for rotation sessions
// (IssueSession) is a service event of its own (eventType AwsServiceEvent,
// invokedBy secretsmanager.amazonaws.com), appended in the transaction that
// writes the role; IssueSession writes nothing else (sessions are sealed
// tokens, not stored).

// SetTrail makes every write commit its call's pending record to t (nil:
// record nothing). Call it before the Service serves requests.
func (s *Service) SetTrail(t *audit.Trail) { s.trail = t }

// commitAudit appends the call's pending record inside tx, as succeeded
// with response elements resp, in account (the record's recipient).
func (s *Service) commitAudit(ctx context.Context, tx storage.Tx, account string, resp map[string]any, resources ...audit.Resource) error {
	p := audit.PendingFrom(ctx)
	if p == nil || s.trail == nil {
		return nil
	}
	if account != "" {
		p.Record().RecipientAccountID = account
	}
	return p.Commit(tx, s.trail, resp, resources...)
}

// resourceTypes are CloudTrail's resource types of IAM entities.
var resourceTypes = map[storage.EntityKind]string{
	storage.EntityUser:   "AWS::IAM::User",
	storage.EntityGroup:  "AWS::IAM::Group",
	storage.EntityRole:   "AWS::IAM::Role",
	storage.EntityPolicy: "AWS::IAM::Policy",
}

// entityResource names an entity in a record's resources.
func (s *Service) entityResource(e *storage.Entity) audit.Resource {
	return audit.Resource{ARN: s.entityARN(e), AccountID: e.Account, Type: resourceTypes[e.Kind]}
}

// createElems are the response elements of a Create* call (CreateUser:
// {"user": {...}}), without tags, documents or descriptions.
func (s *Service) createElems(e *storage.Entity) map[string]any {
	key := map[storage.EntityKind]string{
		storage.EntityUser: "user", storage.EntityGroup: "group",
		storage.EntityRole: "role", storage.EntityPolicy: "policy",
	}[e.Kind]
	return map[string]any{key: map[string]any{
		key + "Name": e.Name,
		key + "Id":   e.ID,
		"arn":        s.entityARN(e),
		"path":       e.Path,
		"createDate": e.Created.UTC().Format(time.RFC3339),
	}}
}

// accessKeyElems are CreateAccessKey's response elements: the key without
// its secret.
func accessKeyElems(k *storage.AccessKey, userName string) map[string]any {
	status := "Active"
	if !k.Active {
		status = "Inactive"
	}
	m := map[string]any{
		"accessKeyId": k.ID,
		"status":      status,
		"createDate":  k.Created.UTC().Format(time.RFC3339),
	}
	if userName != "" {
		m["userName"] = userName
	}
	return map[string]any{"accessKey": m}
}

// accessKeyResource names an access key in a record's resources.
func accessKeyResource(k *storage.AccessKey) audit.Resource {
	return audit.Resource{ARN: k.ID, AccountID: k.Account, Type: "AWS::IAM::AccessKey"}
}

// serviceRoleEvent appends, inside tx, the service event of coffer
// creating (CreateRole) or repairing (UpdateRole) an account's service
// role.
func (s *Service) serviceRoleEvent(tx storage.Tx, e *storage.Entity, created bool) error {
	if s.trail == nil {
		return nil
	}
	name := "UpdateRole"
	if created {
		name = "CreateRole"
	}
	return s.trail.Append(tx, &audit.Record{
		UserIdentity:        &audit.UserIdentity{AccountID: e.Account, InvokedBy: audit.SourceSecretsManager},
		EventSource:         audit.SourceIAM,
		EventName:           name,
		SourceIPAddress:     audit.SourceSecretsManager,
		UserAgent:           audit.SourceSecretsManager,
		AdditionalEventData: map[string]any{"roleName": e.Name, "reason": "coffer's rotation service role"},
		EventType:           audit.TypeServiceEvent,
		RecipientAccountID:  e.Account,
		Resources:           []audit.Resource{s.entityResource(e)},
	})
}
