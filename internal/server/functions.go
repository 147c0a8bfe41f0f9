package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/rotation/function"
	"github.com/coffer-dev/coffer/internal/storage"
)

// The administrative side of custom rotation functions (coffer functions
// create|list|delete), run on the store directly like CreateAccount: with
// the embedded store the server must be stopped.

// openFunctions opens the root key and the store of cfg and returns them
// (the caller closes the store) and the account to work in: account, or
// the deployment's only account when account is "".
func openFunctions(ctx context.Context, cfg Config, account string) (envelope.Wrapper, storage.Store, string, error) {
	root, store, err := openAdmin(ctx, cfg, account)
	if err != nil {
		return nil, nil, "", err
	}
	err = store.View(ctx, func(tx storage.Tx) error {
		if account != "" {
			if _, err := tx.Account(account); errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("account %s does not exist", account)
			} else if err != nil {
				return err
			}
			return nil
		}
		accts, err := tx.Accounts()
		if err != nil {
			return err
		}
		switch len(accts) {
		case 0:
			return errors.New("the deployment has no account yet: start the server once")
		case 1:
			account = accts[0].ID
			return nil
		}
		ids := make([]string, len(accts))
		for i, a := range accts {
			ids[i] = a.ID
		}
		return fmt.Errorf("the deployment has %d accounts (%s): choose one with --account", len(accts), strings.Join(ids, ", "))
	})
	if err != nil {
		store.Close()
		return nil, nil, "", err
	}
	return root, store, account, nil
}

// recordFunctions runs a functions command on the store of cfg and
// records it (adminaudit.go): a change commits its record in its own
// transaction, a refusal is recorded after.
func recordFunctions(ctx context.Context, cfg Config, account string, name string, params map[string]any,
	fn func(ctx context.Context, reg *function.Registry, account string) (map[string]any, error)) error {
	root, store, account, err := openFunctions(ctx, cfg, account)
	if err != nil {
		return err
	}
	defer store.Close()
	return recordAdmin(ctx, store, adminRecord(name, account, "", params), func(ctx context.Context, t *audit.Trail) (map[string]any, error) {
		return fn(ctx, function.New(store, nil, function.Config{Root: root, Partition: cfg.Partition, Trail: t}), account)
	})
}

// CreateFunction registers a custom rotation function in account ("" is
// the only account) and prints it; a URL function's HMAC key is printed
// this once.
func CreateFunction(ctx context.Context, cfg Config, account string, spec function.Spec, out io.Writer) error {
	// The record names the function and its kind, never its HMAC key.
	params := map[string]any{"functionName": spec.Name}
	return recordFunctions(ctx, cfg, account, "FunctionCreate", params,
		func(ctx context.Context, reg *function.Registry, account string) (map[string]any, error) {
			info, key, err := reg.Create(ctx, account, spec)
			if err != nil {
				return nil, err
			}
			arn := "arn:" + cfg.Partition + ":lambda:<region>:" + account + ":function:" + info.Name
			fmt.Fprintf(out, "coffer: created function %s in account %s\n    name it in RotateSecret as RotationLambdaARN %s (or by its name)\n", info.Name, account, arn)
			if key != "" {
				fmt.Fprintf(out, `    its HMAC key is printed this once and kept nowhere else in clear; give it to the receiver:
    COFFER_FUNCTION_KEY=%s
    (requests carry X-Coffer-Timestamp and X-Coffer-Signature: sha256=hex(HMAC-SHA256(key, timestamp + "." + body)))
`, key)
			}
			kind := "exec"
			if info.URL != "" {
				kind = "url"
			}
			return map[string]any{"functionName": info.Name, "kind": kind}, nil
		})
}

// ListFunctions prints the functions of account ("" is the only account).
func ListFunctions(ctx context.Context, cfg Config, account string, out io.Writer) error {
	root, store, account, err := openFunctions(ctx, cfg, account)
	if err != nil {
		return err
	}
	defer store.Close()
	reg := function.New(store, nil, function.Config{Root: root, Partition: cfg.Partition})
	list, err := reg.List(ctx, account)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tTARGET\tTIMEOUT\tCREATED")
	for _, f := range list {
		kind, target := "exec", strings.Join(f.Exec, " ")
		if f.URL != "" {
			kind, target = "url", f.URL
		}
		timeout := "default"
		if f.Timeout > 0 {
			timeout = f.Timeout.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, kind, target, timeout, f.Created.Format(time.RFC3339))
	}
	return tw.Flush()
}

// DeleteFunction removes a function of account ("" is the only account).
// Rotations configured to call it fail from then on.
func DeleteFunction(ctx context.Context, cfg Config, account, name string, out io.Writer) error {
	return recordFunctions(ctx, cfg, account, "FunctionDelete", map[string]any{"functionName": name},
		func(ctx context.Context, reg *function.Registry, account string) (map[string]any, error) {
			if err := reg.Delete(ctx, account, name); err != nil {
				if errors.Is(err, function.ErrNotFound) {
					return nil, fmt.Errorf("no function %s in account %s", name, account)
				}
				return nil, err
			}
			fmt.Fprintf(out, "coffer: deleted function %s of account %s\n", name, account)
			return map[string]any{"functionName": name}, nil
		})
}
