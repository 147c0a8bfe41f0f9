package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/rotation"
	"github.com/coffer-dev/coffer/internal/rotation/function"
	"github.com/coffer-dev/coffer/internal/rotation/mysql"
	"github.com/coffer-dev/coffer/internal/rotation/postgres"
	"github.com/coffer-dev/coffer/internal/seal"
	"github.com/coffer-dev/coffer/internal/secrets"
	"github.com/coffer-dev/coffer/internal/storage"
)

// rotationTick is how often the scheduler looks for due rotations.
const rotationTick = time.Minute

// builtinFunctions maps the names of AWS's rotation templates, as the last
// part of a RotationLambdaARN in the secret's account and region, to
// coffer's built-in rotators.
var builtinFunctions = map[string]rotation.Builtin{
	"SecretsManagerRDSPostgreSQLRotationSingleUser": postgres.SingleUser,
	"SecretsManagerRDSPostgreSQLRotationMultiUser":  postgres.MultiUser,
	"SecretsManagerRDSMySQLRotationSingleUser":      mysql.SingleUser,
	"SecretsManagerRDSMySQLRotationMultiUser":       mysql.MultiUser,
	"SecretsManagerRDSMariaDBRotationSingleUser":    mysql.SingleUser,
	"SecretsManagerRDSMariaDBRotationMultiUser":     mysql.MultiUser,
}

// rotationRegions are the regions the scheduler scans in every account for
// secrets with rotation configured (storage has no query across regions);
// a secret of another region is found when RotateSecret starts it, until
// the process restarts.
var rotationRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"af-south-1", "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1",
	"il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
	"us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
}

// newRotation builds the rotation engine over svc: built-in rotators and
// the custom functions of the store (exec functions call back to
// endpoint). It sets the engine on svc.
func newRotation(store storage.Store, svc *secrets.Service, ids *iam.Service, root *seal.KeyFile, partition, endpoint string, log *slog.Logger) *rotation.Engine {
	var resume time.Duration
	if _, shared := store.(storage.Leaser); shared {
		resume = rotation.DefaultStepTimeout
	}
	var fns rotation.Functions
	if ids != nil {
		fns = function.New(store, ids, function.Config{Endpoint: endpoint, Root: root, Partition: partition})
	}
	eng := rotation.New(rotation.Config{
		Secrets:     svc,
		Partition:   partition,
		Builtins:    builtinFunctions,
		Functions:   fns,
		Logger:      log,
		ResumeAfter: resume,
		Scopes:      func(ctx context.Context) ([]rotation.Scope, error) { return rotationScopes(ctx, store) },
	})
	svc.SetRotations(eng)
	return eng
}

// rotationScopes lists every account in every region of rotationRegions.
func rotationScopes(ctx context.Context, store storage.Store) ([]rotation.Scope, error) {
	var out []rotation.Scope
	err := store.View(ctx, func(tx storage.Tx) error {
		accts, err := tx.Accounts()
		if err != nil {
			return err
		}
		for _, a := range accts {
			for _, r := range rotationRegions {
				out = append(out, rotation.Scope{Account: a.ID, Region: r})
			}
		}
		return nil
	})
	return out, err
}

// runRotation runs the rotation scheduler until ctx ends, on one node of a
// cluster at a time, then stops the engine's runs.
func runRotation(ctx context.Context, store storage.Store, leaseTTL time.Duration, eng *rotation.Engine, log *slog.Logger) {
	runJob(ctx, store, leaseTTL, "rotation", log, func(ctx context.Context) { eng.Schedule(ctx, rotationTick) })
	eng.Close()
}

// RotationOptions select the secrets of the operator commands (coffer
// rotation status, coffer rotate).
type RotationOptions struct {
	Account string // "": the deployment's only account
	Region  string
	Secret  string // name or ARN; "" lists every secret with rotation (status)
	// Endpoint is the URL exec functions call back (coffer rotate).
	Endpoint string
	DryRun   bool
}

// openRotation opens cfg's store and builds the secrets service and the
// rotation engine, for the operator commands. With the embedded store the
// server must be stopped.
func openRotation(ctx context.Context, cfg Config, o *RotationOptions) (*secrets.Service, *rotation.Engine, *audit.Trail, func(), error) {
	// The account is not checked here: an unknown one finds no secret.
	root, store, err := openAdmin(ctx, cfg, "")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if o.Account == "" {
		err = store.View(ctx, func(tx storage.Tx) error {
			accts, err := tx.Accounts()
			if err != nil {
				return err
			}
			if len(accts) != 1 {
				return fmt.Errorf("the deployment has %d accounts: choose one with --account", len(accts))
			}
			o.Account = accts[0].ID
			return nil
		})
		if err != nil {
			store.Close()
			return nil, nil, nil, nil, err
		}
	}
	// The operator commands record like the server: the rotation's service
	// events and the rotators' calls (engine), and the Rotate command itself
	// (adminaudit.go).
	trail, err := adminTrail(store)
	if err != nil {
		store.Close()
		return nil, nil, nil, nil, err
	}
	svc := secrets.New(secrets.Config{Store: store, Root: root, Partition: cfg.Partition, Trail: trail})
	ids := iam.New(store, root, cfg.Partition, time.Now)
	ids.SetTrail(trail)
	eng := newRotation(store, svc, ids, root, cfg.Partition, o.Endpoint, slog.New(slog.DiscardHandler))
	eng.SetTrail(trail)
	return svc, eng, trail, func() { eng.Close(); trail.Close(); store.Close() }, nil
}

// RotationStatus prints the rotation state of one secret, or of every
// secret of the account and region with rotation configured. It changes
// nothing.
func RotationStatus(ctx context.Context, cfg Config, o RotationOptions, out io.Writer) error {
	svc, _, _, done, err := openRotation(ctx, cfg, &o)
	if err != nil {
		return err
	}
	defer done()
	var list []*secrets.RotationStatus
	if o.Secret != "" {
		m, err := svc.DescribeSecret(ctx, secrets.SystemCaller(cfg.Partition, o.Account, o.Region), o.Secret)
		if err != nil {
			return err
		}
		st, err := svc.RotationStatus(ctx, m.ARN)
		if err != nil {
			return err
		}
		list = append(list, st)
	} else if list, err = svc.RotatingSecrets(ctx, o.Account, o.Region); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tENABLED\tFUNCTION\tSCHEDULE\tLAST ROTATED\tNEXT ROTATION\tSTATE")
	for _, st := range list {
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t%s\t%s\n", st.Name, st.Enabled, orDash(st.LambdaARN), schedule(st),
			date(st.LastRotated), date(st.NextRotation), runState(st))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func date(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func schedule(st *secrets.RotationStatus) string {
	s := "-"
	switch {
	case st.Schedule != "":
		s = st.Schedule
	case st.Days != 0:
		s = fmt.Sprintf("every %d days", st.Days)
	}
	if st.Duration != "" {
		s += " (window " + st.Duration + ")"
	}
	return s
}

// runState describes the run in progress; never its RotationToken.
func runState(st *secrets.RotationStatus) string {
	r := st.Run
	switch {
	case r == nil && st.Pending != "" && st.Pending != st.Current:
		return "unfinished: AWSPENDING on " + st.Pending + " (remove it to rotate again)"
	case r == nil:
		return "idle"
	case r.LastError != "" && !r.NextAttempt.IsZero():
		return fmt.Sprintf("failed at %s (%d attempts), retry at %s: %s", r.Step, r.Attempts, date(r.NextAttempt), r.LastError)
	case r.Validation:
		return "validating (testSecret) version " + r.VersionID
	}
	return fmt.Sprintf("running %s of version %s since %s", r.Step, r.VersionID, date(r.Started))
}

// Rotate rotates one secret now with its stored settings, or with DryRun
// checks the function (its Checker, when it has one) and changes nothing.
// The command leaves a record (eventName Rotate, adminaudit.go) besides the
// rotation's own service events.
func Rotate(ctx context.Context, cfg Config, o RotationOptions, out io.Writer) error {
	svc, eng, trail, done, err := openRotation(ctx, cfg, &o)
	if err != nil {
		return err
	}
	defer done()
	rec := adminRecord("Rotate", o.Account, o.Region, map[string]any{"secretId": o.Secret, "dryRun": o.DryRun})
	p := audit.NewPending(rec)
	err = rotate(ctx, cfg, o, svc, eng, rec, out)
	return finishAdmin(ctx, trail, p, err, map[string]any{"secretId": o.Secret})
}

// rotate is Rotate's work; it names the secret's ARN in rec once known.
func rotate(ctx context.Context, cfg Config, o RotationOptions, svc *secrets.Service, eng *rotation.Engine, rec *audit.Record, out io.Writer) error {
	m, err := svc.DescribeSecret(ctx, secrets.SystemCaller(cfg.Partition, o.Account, o.Region), o.Secret)
	if err != nil {
		return err
	}
	rec.Resources = []audit.Resource{{ARN: m.ARN, AccountID: o.Account, Type: "AWS::SecretsManager::Secret"}}
	st, err := svc.RotationStatus(ctx, m.ARN)
	if err != nil {
		return err
	}
	if st.LambdaARN == "" {
		return fmt.Errorf("secret %s has no rotation function: configure one with RotateSecret", m.Name)
	}
	fn, err := eng.Function(ctx, st.Account, st.Region, st.LambdaARN)
	if err != nil {
		return fmt.Errorf("rotation function %s: %w", st.LambdaARN, err)
	}
	if o.DryRun {
		c, ok := fn.(rotation.Checker)
		if !ok {
			fmt.Fprintf(out, "coffer: %s resolves; it has no dry-run check, nothing else was verified\n", st.LambdaARN)
			return nil
		}
		if err := c.Check(ctx, m.ARN); err != nil {
			return fmt.Errorf("dry run of %s: %w", m.Name, err)
		}
		fmt.Fprintf(out, "coffer: dry run of %s passed: %s can rotate it\n", m.Name, st.LambdaARN)
		return nil
	}
	run, err := svc.BeginRotation(ctx, m.ARN)
	if err != nil {
		return err
	}
	if err := eng.Run(ctx, m.ARN); err != nil {
		return fmt.Errorf("rotation of %s: %w", m.Name, err)
	}
	st, err = svc.RotationStatus(ctx, m.ARN)
	if err != nil {
		return err
	}
	if st.Run != nil {
		return fmt.Errorf("rotation of %s did not finish: %s", m.Name, runState(st))
	}
	fmt.Fprintf(out, "coffer: rotated %s: version %s is AWSCURRENT\n", m.Name, run.VersionID)
	return nil
}
