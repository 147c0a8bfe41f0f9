package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func planCommand(stdout, stderr io.Writer) *cobra.Command {
	var src sourceFlags
	cmd := &cobra.Command{
		Use:   "plan --env ENVIRONMENT [--config dsops.yaml]",
		Short: "Show which secrets would be resolved, never their values",
		Long: `List every variable coffer run would set and where its value comes from
(store, secret id, version, JSON field, transforms). No secret is read and no
value is shown; the file is checked (unknown store types and transforms are
refused).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms, _, err := src.mappings(stderr)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			for _, m := range ms {
				fmt.Fprintf(tw, "%s\t← %s\n", m.Var, m.Describe())
			}
			return tw.Flush()
		},
	}
	src.register(cmd.Flags())
	return cmd
}
