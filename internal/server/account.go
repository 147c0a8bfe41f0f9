package server

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/iam"
)

// CreateAccount adds an account to the deployment in cfg's store and prints
// its root access key once (coffer account create). id "" generates one.
// With the embedded store the server must be stopped: the database is
// locked by the process that serves it.
func CreateAccount(ctx context.Context, cfg Config, id string, out io.Writer) error {
	root, store, err := openAdmin(ctx, cfg, id)
	if err != nil {
		return err
	}
	defer store.Close()
	// The record (adminaudit.go) commits with the account, in its
	// transaction; it names the account, never its key.
	params := map[string]any{}
	if id != "" {
		params["accountId"] = id
	}
	var account, keyID, secret string
	err = recordAdmin(ctx, store, adminRecord("AccountCreate", id, "", params), func(ctx context.Context, t *audit.Trail) (map[string]any, error) {
		ids := iam.New(store, root, cfg.Partition, time.Now)
		ids.SetTrail(t)
		var err error
		account, keyID, secret, err = ids.CreateAccount(ctx, id)
		return map[string]any{"accountId": account}, err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `coffer: created account %s with a root access key; it is printed this once and kept nowhere else
    export AWS_ACCESS_KEY_ID=%s
    export AWS_SECRET_ACCESS_KEY=%s
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
`, account, keyID, secret)
	return nil
}
