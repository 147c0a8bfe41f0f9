package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/storage"
)

// The CLI's administrative commands (account create, functions
// create/delete, rotate, backup, restore) run on the store directly, not
// through a front door; each leaves one record in the store it opened
// (see the audit package doc): eventSource "coffer", eventType
// "CofferAdminEvent", userIdentity {type "CofferOperator", invokedBy
// "coffer-cli"}, eventName the command. A record never holds a secret: no
// access key, HMAC key or value.
const (
	adminEventSource = "coffer"
	adminEventType   = "CofferAdminEvent"
	adminIdentity    = "CofferOperator"
	adminInvokedBy   = "coffer-cli"
	// serverInvokedBy marks the record of what a server's first start
	// creates (bootstrap.go): the account and its root key, "Bootstrap".
	serverInvokedBy = "coffer-server"
)

// adminRecord is the pending record of one administrative command.
func adminRecord(name, account, region string, params map[string]any) *audit.Record {
	return &audit.Record{
		UserIdentity:       &audit.UserIdentity{Type: adminIdentity, AccountID: account, InvokedBy: adminInvokedBy},
		EventSource:        adminEventSource,
		EventName:          name,
		AWSRegion:          region,
		SourceIPAddress:    adminInvokedBy,
		UserAgent:          adminInvokedBy,
		RequestParameters:  params,
		RequestID:          uuid.NewString(),
		EventType:          adminEventType,
		ManagementEvent:    true,
		EventCategory:      "Management",
		RecipientAccountID: account,
	}
}

// openAdmin opens the root key and the store of cfg for an administrative
// command, after checking cfg and account (when given). The caller closes
// the store. With the embedded store the server must be stopped.
func openAdmin(ctx context.Context, cfg Config, account string) (*seal.KeyFile, storage.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if account != "" {
		if err := iam.ValidateAccountID(account); err != nil {
			return nil, nil, err
		}
	}
	// An administrative command must never make a root key of its own: what
	// it sealed with one would open nowhere else.
	keyPath := filepath.Join(cfg.DataDir, rootKeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no root key at %s: start the server on this data directory once, or copy the deployment's root.key there", keyPath)
	}
	root, err := seal.OpenKeyFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return root, store, nil
}

// adminTrail opens a trail (no sinks) over the store a command opened.
func adminTrail(store storage.Store) (*audit.Trail, error) {
	return audit.New(store, audit.Config{})
}

// finishAdmin records the outcome of the command of p (cmdErr nil: it
// succeeded) unless a domain transaction committed it, and returns cmdErr,
// or the recording error when the command succeeded but its record could
// not be written.
func finishAdmin(ctx context.Context, t *audit.Trail, p *audit.Pending, cmdErr error, resp map[string]any) error {
	code, msg := "", ""
	if cmdErr != nil {
		code, msg = "CommandFailed", cmdErr.Error()
		var ie *iam.Error
		if errors.As(cmdErr, &ie) {
			code, msg = ie.Code, ie.Message
		}
		resp = nil
	}
	if err := p.Finish(context.WithoutCancel(ctx), t, code, msg, resp); err != nil {
		if cmdErr != nil {
			return errors.Join(cmdErr, err)
		}
		return err
	}
	return cmdErr
}

// recordAdmin runs a command (fn) and records its outcome in store. fn
// gets a context carrying the pending record and the trail: a change that
// commits the record in its own transaction (iam, the function registry)
// uses both; otherwise the record is written after fn.
func recordAdmin(ctx context.Context, store storage.Store, rec *audit.Record, fn func(ctx context.Context, t *audit.Trail) (map[string]any, error)) error {
	t, err := adminTrail(store)
	if err != nil {
		return err
	}
	defer t.Close()
	p := audit.NewPending(rec)
	resp, err := fn(audit.WithPending(ctx, p), t)
	return finishAdmin(ctx, t, p, err, resp)
}
