package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/server"
)

// rotationCommands are "coffer rotation status" and "coffer rotate": the
// operator's view of rotation, run on the store directly (with the
// embedded store, stop the server first).
func rotationCommands(stdout io.Writer) []*cobra.Command {
	cfg := adminConfig()
	o := server.RotationOptions{
		Region:   envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1")),
		Endpoint: "http://" + envOr("COFFER_LISTEN", server.DefaultListen),
	}
	flags := func(c *cobra.Command) {
		f := c.Flags()
		f.StringVar(&o.Account, "account", "", "account of the secret (default: the deployment's only account)")
		f.StringVar(&o.Region, "region", o.Region, "region of the secret (env AWS_REGION)")
		adminStoreFlags(f, &cfg)
	}
	status := &cobra.Command{
		Use:   "status [SECRET]",
		Short: "Show the rotation state of a secret, or of every secret with rotation",
		Long: `Show rotation settings, the last and next rotation, and the run in
progress (its step, attempts and last error). It changes nothing.

It works on the store directly: with the embedded store, stop the server
first (the database is locked while it serves).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Secret = args[0]
			}
			return lockHint(server.RotationStatus(cmd.Context(), cfg, o, stdout))
		},
	}
	flags(status)
	group := &cobra.Command{Use: "rotation", Short: "Inspect secret rotation"}
	group.AddCommand(status)

	rotate := &cobra.Command{
		Use:   "rotate SECRET",
		Short: "Rotate a secret now with its configured function",
		Long: `Rotate a secret now with its stored rotation function, or resume its
unfinished rotation, and wait for the four steps. With --dry-run, only ask
the function to check that it could rotate (connect with the current
credentials, check privileges) and change nothing.

It works on the store directly: with the embedded store, stop the server
first (the database is locked while it serves).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Secret = args[0]
			return lockHint(server.Rotate(cmd.Context(), cfg, o, stdout))
		},
	}
	flags(rotate)
	rotate.Flags().BoolVar(&o.DryRun, "dry-run", false, "check only; change nothing")
	rotate.Flags().StringVar(&o.Endpoint, "endpoint", o.Endpoint, "coffer's URL as exec functions reach it")
	return []*cobra.Command{group, rotate}
}
