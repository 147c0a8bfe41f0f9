// Package cli is coffer's command line: it turns flags and COFFER_*
// environment variables into a server.Config and runs subcommands. Errors are
// printed as "coffer: error: ..." with an optional "hint: ..." line.
//
// Only cmd/coffer imports it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/server"
)

// Run executes the command line args and returns the process exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "coffer",
		Short:         "AWS Secrets Manager that you run yourself",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serverCommand(stdout, stderr))
	root.AddCommand(accountCommand(stdout), policyCommand(stdout))
	root.AddCommand(runCommand(stdout, stderr), planCommand(stdout, stderr), renderCommand(stdout, stderr), agentCommand(stdout, stderr))
	root.AddCommand(backupCommand(stdout, stderr), restoreCommand(stdout, stderr))
	root.AddCommand(rotationCommands(stdout)...)
	root.AddCommand(functionsCommand(stdout))
	root.AddCommand(auditCommand(stdout))
	if err := root.Execute(); err != nil {
		var code exitCode
		if errors.As(err, &code) {
			return int(code) // coffer run: COMMAND's own exit code, already reported
		}
		fmt.Fprintf(stderr, "coffer: error: %v\n", err)
		var h hinted
		if errors.As(err, &h) {
			fmt.Fprintf(stderr, "hint: %s\n", h.hint)
		}
		return 1
	}
	return 0
}

type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func serverCommand(stdout, stderr io.Writer) *cobra.Command {
	cfg := server.Config{
		Listen:              envOr("COFFER_LISTEN", server.DefaultListen),
		DataDir:             envOr("COFFER_DATA_DIR", server.DefaultDataDir()),
		AccountID:           os.Getenv("COFFER_ACCOUNT_ID"),
		RootAccessKeyID:     os.Getenv("COFFER_ROOT_ACCESS_KEY_ID"),
		RootSecretAccessKey: os.Getenv("COFFER_ROOT_SECRET_ACCESS_KEY"),
		Partition:           envOr("COFFER_PARTITION", "aws"),
		LogLevel:            envOr("COFFER_LOG_LEVEL", "info"),
		Storage:             os.Getenv("COFFER_STORAGE"),
		AdminListen:         os.Getenv("COFFER_ADMIN_LISTEN"),
		AuditFile:           os.Getenv("COFFER_AUDIT_FILE"),
		AuditSyslog:         os.Getenv("COFFER_AUDIT_SYSLOG"),
	}
	// Typed settings from the environment; one that does not parse stops
	// the server with its name rather than being ignored.
	var envErrs []error
	envDuration := func(name string, dst *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				envErrs = append(envErrs, fmt.Errorf("%s=%q is not a positive duration (like 30s or 2m)", name, v))
				return
			}
			*dst = d
		}
	}
	envBool := func(name string, dst *bool) {
		switch v := strings.ToLower(os.Getenv(name)); v {
		case "":
		case "1", "true", "on", "yes":
			*dst = true
		case "0", "false", "off", "no":
			*dst = false
		default:
			envErrs = append(envErrs, fmt.Errorf("%s=%q is not on or off (true/false, 1/0)", name, v))
		}
	}
	envDuration("COFFER_AUDIT_DIGEST_INTERVAL", &cfg.AuditDigestInterval)
	envDuration("COFFER_LEASE_TTL", &cfg.LeaseTTL)
	envBool("COFFER_AUDIT_STDOUT", &cfg.AuditStdout)
	if v := os.Getenv("COFFER_AUDIT_SYNC"); v != "" {
		d, err := server.ParseAuditSync(v)
		if err != nil {
			envErrs = append(envErrs, fmt.Errorf("COFFER_AUDIT_SYNC=%w", err))
		}
		cfg.AuditSync = d
	}
	// Auditing is on unless turned off for a benchmark (no trail).
	auditOn := true
	envBool("COFFER_AUDIT", &auditOn)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the Secrets Manager API",
		Long: `Serve the AWS Secrets Manager API on the embedded store (SQLite in the
data directory) or on PostgreSQL (--storage postgres://...).

Environment: COFFER_LISTEN, COFFER_ADMIN_LISTEN, COFFER_DATA_DIR, COFFER_STORAGE,
COFFER_LOG_LEVEL, COFFER_PARTITION, COFFER_ACCOUNT_ID, COFFER_ROOT_ACCESS_KEY_ID and
COFFER_ROOT_SECRET_ACCESS_KEY (the last three fix the first account and its root key; otherwise they are
generated on first start and written to <data-dir>/credentials).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := errors.Join(envErrs...); err != nil {
				return hinted{err, "see 'coffer server --help'"}
			}
			cfg.DisableAudit = !auditOn
			if err := cfg.Validate(); err != nil {
				return hinted{err, "see 'coffer server --help'"}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, cfg, stdout, newLogger(stderr, cfg.LogLevel))
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to serve on (host:port; port 0 picks a free one)")
	f.StringVar(&cfg.AdminListen, "admin-listen", cfg.AdminListen, "address of the admin listener: /metrics, /healthz, /readyz, no authentication (host:port; empty: off; env COFFER_ADMIN_LISTEN)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the database, the root key and the credentials file")
	f.StringVar(&cfg.AccountID, "account-id", cfg.AccountID, "id of the first account (12 digits)")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.StringVar(&cfg.Storage, "storage", cfg.Storage, "store: empty for SQLite in the data directory, or postgres://user@host/db (env COFFER_STORAGE)")
	f.StringVar(&cfg.AuditFile, "audit-file", cfg.AuditFile, "also append audit records as JSON lines to this file, best effort (env COFFER_AUDIT_FILE)")
	f.BoolVar(&cfg.AuditStdout, "audit-stdout", cfg.AuditStdout, "also write audit records as JSON lines to standard output, best effort (env COFFER_AUDIT_STDOUT)")
	f.StringVar(&cfg.AuditSyslog, "audit-syslog", cfg.AuditSyslog, "also send audit records to syslog: local, unix:///path, udp://host:port or tcp://host:port (env COFFER_AUDIT_SYSLOG)")
	f.DurationVar(&cfg.AuditDigestInterval, "audit-digest-interval", cfg.AuditDigestInterval, "how often the head of the audit trail is signed (default 1m; env COFFER_AUDIT_DIGEST_INTERVAL)")
	f.Var(auditSyncFlag{&cfg.AuditSync}, "audit-sync", "when a read's audit record is fdatasynced in the embedded store's journal: always (before the response), or at most this long after it is written, like 10ms (durable against a crash of coffer at once, of the machine after that; env COFFER_AUDIT_SYNC)")
	f.BoolVar(&auditOn, "audit", auditOn, "record every call in the audit trail; --audit=false is for benchmarks only: no trail (env COFFER_AUDIT=off)")
	return cmd
}

// auditSyncFlag is --audit-sync: always, or a duration.
type auditSyncFlag struct{ d *time.Duration }

func (f auditSyncFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "always"
	}
	return f.d.String()
}

func (f auditSyncFlag) Set(v string) error {
	d, err := server.ParseAuditSync(v)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func (auditSyncFlag) Type() string { return "always|duration" }

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by Config.Validate
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
