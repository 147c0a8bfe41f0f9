package rotation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/secrets"
	"github.com/coffer-dev/coffer/internal/storage"
)

// auditSetup is setup with an audit trail on the engine, over the same
// store; it returns a reader of the service events recorded so far.
func auditSetup(t *testing.T) (*env, func() []map[string]any) {
	t.Helper()
	v := setup(t)
	store := v.store
	trail, err := audit.New(store, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	v.eng.SetTrail(trail)
	events := func() []map[string]any {
		var out []map[string]any
		err := store.View(context.Background(), func(tx storage.Tx) error {
			recs, err := tx.AuditRecords(0, 1000)
			if err != nil {
				return err
			}
			for _, r := range recs {
				var m map[string]any
				if err := json.Unmarshal(r.Doc, &m); err != nil {
					return err
				}
				if m["eventType"] == "AwsServiceEvent" {
					out = append(out, m)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return v, events
}

func eventNames(evs []map[string]any) []string {
	var names []string
	for _, e := range evs {
		names = append(names, e["eventName"].(string))
	}
	return names
}

func TestAuditRotationSucceeded(t *testing.T) {
	v, events := auditSetup(t)
	v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1))})
	evs := events()
	if got := strings.Join(eventNames(evs), ","); got != "RotationStarted,RotationSucceeded" {
		t.Fatalf("service events = %s, want RotationStarted,RotationSucceeded", got)
	}
	for _, e := range evs {
		ui, _ := e["userIdentity"].(map[string]any)
		if ui["invokedBy"] != "secretsmanager.amazonaws.com" || e["recipientAccountId"] != account {
			t.Errorf("%s: userIdentity %v, recipient %v", e["eventName"], ui, e["recipientAccountId"])
		}
		if ed, _ := e["additionalEventData"].(map[string]any); ed["SecretId"] != v.arn {
			t.Errorf("%s: additionalEventData %v, want SecretId %s", e["eventName"], ed, v.arn)
		}
	}
}

func TestAuditRotationFailed(t *testing.T) {
	v, events := auditSetup(t)
	v.tgt.failures[StepSet] = 1
	v.rotate(t, secrets.RotateInput{ClientRequestToken: str(tok(1))})
	evs := events()
	if got := strings.Join(eventNames(evs), ","); got != "RotationStarted,RotationFailed" {
		t.Fatalf("service events = %s, want RotationStarted,RotationFailed", got)
	}
	want := "Error when executing lambda " + fnARN + " during setSecret step"
	if msg, _ := evs[1]["errorMessage"].(string); msg != want {
		t.Errorf("RotationFailed errorMessage = %q, want %q", msg, want)
	}
}
