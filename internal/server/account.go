package server

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/seal"
)

// CreateAccount adds an account to the deployment in cfg's store and prints
// its root access key once (coffer account create). id "" generates one.
// With the embedded store the server must be stopped: the database is
// locked by the process that serves it.
func CreateAccount(ctx context.Context, cfg Config, id string, out io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if id != "" {
		if err := iam.ValidateAccountID(id); err != nil {
			return err
		}
	}
	root, err := seal.OpenKeyFile(filepath.Join(cfg.DataDir, rootKeyFile))
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	ids := iam.New(store, root, cfg.Partition, time.Now)
	account, keyID, secret, err := ids.CreateAccount(ctx, id)
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
