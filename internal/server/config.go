package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/coffer-dev/coffer/internal/iam"
)

// DefaultListen is the address coffer serves on unless told otherwise.
const DefaultListen = "127.0.0.1:7700"

// Config is everything the server needs, filled by internal/cli from flags and
// COFFER_* environment variables.
type Config struct {
	Listen string // host:port; port 0 picks a free one
	// AdminListen is the address of the admin listener (/metrics, /healthz,
	// /readyz; no authentication): host:port, or "" for none.
	AdminListen string
	DataDir     string // holds the database, the root key file and the credentials file
	// Storage chooses the store: "" (or "sqlite:") for SQLite in DataDir,
	// or a PostgreSQL URL, postgres://user@host:5432/db (postgresql:// too),
	// for a cluster of nodes sharing one database (docs/CLUSTER.md).
	Storage string

	// The first account and its root key. Empty values are generated on
	// first start (and read back from the credentials file afterwards).
	AccountID           string
	RootAccessKeyID     string
	RootSecretAccessKey string

	Partition string // "aws"
	LogLevel  string // debug, info, warn, error

	// Audit sinks: copies of every committed audit record, best effort
	// (the store keeps the trail). AuditFile appends JSON lines to a file;
	// AuditStdout writes them to standard output; AuditSyslog sends them to
	// syslog: "local" (/dev/log), unix:///path, udp://host:port or
	// tcp://host:port. AuditDigestInterval is how often the head of the
	// trail is signed (0: one minute).
	AuditFile           string
	AuditStdout         bool
	AuditSyslog         string
	AuditDigestInterval time.Duration
	// AuditSync is how long a read's audit record may wait for fdatasync
	// in the embedded store's journal (audit.Config.JournalSync): 0, the
	// default, syncs it before the response.
	AuditSync time.Duration
	// LeaseTTL is how long a background job's lease on a shared store
	// lasts without renewal (jobs.go); below 300ms (0 included): 15s.
	LeaseTTL time.Duration
	// DisableAudit turns the audit trail off. For benchmarks only: no
	// trail, nothing recorded (COFFER_AUDIT=off, --audit=false).
	DisableAudit bool
}

// MaxAuditSync bounds Config.AuditSync: the reads' records a crash of the
// machine may take stay within a second.
const MaxAuditSync = time.Second

// ParseAuditSync reads an audit sync setting: "always" (0: fdatasync
// before each response) or a positive duration up to MaxAuditSync.
func ParseAuditSync(v string) (time.Duration, error) {
	if v == "always" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > MaxAuditSync {
		return 0, fmt.Errorf("%q is not always or a duration from 1ns to %s (like 10ms)", v, MaxAuditSync)
	}
	return d, nil
}

// DefaultDataDir is $XDG_DATA_HOME/coffer, or ~/.local/share/coffer.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "coffer")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "coffer")
	}
	return "coffer-data"
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: want host:port", c.Listen))
	}
	if c.AdminListen != "" {
		_, port, err := net.SplitHostPort(c.AdminListen)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("admin listen address %q: want host:port", c.AdminListen))
		case c.AdminListen == c.Listen && port != "0":
			errs = append(errs, fmt.Errorf("admin listen address %q: must differ from the listen address", c.AdminListen))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data directory must not be empty"))
	}
	if c.AccountID != "" {
		if err := iam.ValidateAccountID(c.AccountID); err != nil {
			errs = append(errs, err)
		}
	}
	if (c.RootAccessKeyID == "") != (c.RootSecretAccessKey == "") {
		errs = append(errs, errors.New("COFFER_ROOT_ACCESS_KEY_ID and COFFER_ROOT_SECRET_ACCESS_KEY must be set together"))
	} else if c.RootAccessKeyID != "" {
		if err := iam.ValidateAccessKey(c.RootAccessKeyID, c.RootSecretAccessKey); err != nil {
			errs = append(errs, err)
		}
	}
	if err := validateStorage(c.Storage); err != nil {
		errs = append(errs, err)
	}
	if c.AuditDigestInterval < 0 {
		errs = append(errs, fmt.Errorf("audit digest interval %s: must not be negative", c.AuditDigestInterval))
	}
	if c.AuditSync < 0 || c.AuditSync > MaxAuditSync {
		errs = append(errs, fmt.Errorf("audit sync %s: want always, or a duration up to %s", c.AuditSync, MaxAuditSync))
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}
