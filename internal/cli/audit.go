package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/server"
)

// auditCommand is "coffer audit": verify and search the audit trail, on
// the store directly (not through the API).
func auditCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify and search the audit trail"}
	cfg := adminConfig()

	var publicKey string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain and the signed digests of the audit trail",
		Long: `Check every record of the audit trail (its hash and its link to the previous
record) and every signed digest. On success it prints how many records and
digests were checked; otherwise it names the first record that was edited,
deleted, inserted or reordered, or the forged digest, and exits 1.

The public key is read from the store unless --public-key gives it (base64
or hex, as the server logs it at start); pinning it guards against someone
who can rewrite the whole database. With the embedded store, stop the
server first (the database is locked while it serves).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lockHint(server.VerifyAudit(cmd.Context(), cfg, publicKey, stdout))
		},
	}
	vf := verify.Flags()
	vf.StringVar(&publicKey, "public-key", os.Getenv("COFFER_AUDIT_PUBLIC_KEY"), "the audit public key (base64 or hex; default: the one in the store; env COFFER_AUDIT_PUBLIC_KEY)")

	var (
		start, end, readOnly string
		f                    audit.Filter
	)
	lookup := &cobra.Command{
		Use:   "lookup",
		Short: "Print audit records matching filters, oldest first, one JSON object per line",
		Long: `Print the audit records matching every filter given, oldest first, one
JSON object (the stored CloudTrail-shaped record) per line.

--start and --end take RFC 3339 times (2025-01-02T03:04:05Z) or dates
(2025-01-02); --end is exclusive. --secret matches a secret name or ARN
against the record's resources and its requestParameters.secretId.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if f.From, err = parseAuditTime("--start", start); err != nil {
				return err
			}
			if f.To, err = parseAuditTime("--end", end); err != nil {
				return err
			}
			f.ReadOnly = nil
			if readOnly != "" {
				b, err := strconv.ParseBool(readOnly)
				if err != nil {
					return fmt.Errorf("--read-only %q: want true or false", readOnly)
				}
				f.ReadOnly = &b
			}
			return lockHint(server.LookupAudit(cmd.Context(), cfg, f, stdout))
		},
	}
	lf := lookup.Flags()
	lf.StringVar(&start, "start", "", "earliest event time (inclusive)")
	lf.StringVar(&end, "end", "", "latest event time (exclusive)")
	lf.StringVar(&f.EventName, "event-name", "", "event name, e.g. GetSecretValue")
	lf.StringVar(&f.Secret, "secret", "", "secret name or ARN")
	lf.StringVar(&f.Principal, "principal", "", "caller ARN (userIdentity.arn)")
	lf.StringVar(&f.ErrorCode, "error-code", "", "error code, e.g. AccessDeniedException")
	lf.StringVar(&readOnly, "read-only", "", "true: reads only; false: writes only")
	lf.IntVar(&f.Limit, "limit", 0, "print at most this many records (0: all)")

	for _, c := range []*cobra.Command{verify, lookup} {
		adminStoreFlags(c.Flags(), &cfg)
	}
	cmd.AddCommand(verify, lookup)
	return cmd
}

// parseAuditTime reads an RFC 3339 time or a date ("" is the zero time).
func parseAuditTime(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, errors.New(flag + " " + strconv.Quote(v) + ": want an RFC 3339 time (2025-01-02T03:04:05Z) or a date (2025-01-02)")
}
