package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/runenv"
)

func renderCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		src    sourceFlags
		format string
		out    string
	)
	cmd := &cobra.Command{
		Use:   "render --env ENVIRONMENT --format dotenv|json|yaml --out FILE",
		Short: "Write resolved secrets to a file (explicit opt-in, mode 0600)",
		Long: `Resolve secrets as coffer run does and write them to FILE as a dotenv file,
a JSON object or a YAML mapping. This is the only command that puts secret
values on disk: --out is required (there is no stdout output) and the file is
written with mode 0600, replacing any existing file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return hinted{errors.New("--out FILE is required"), "render writes secret values to a file only when told where"}
			}
			if _, err := runenv.Render(format, nil); err != nil {
				return hinted{err, "--format is one of " + strings.Join(runenv.Formats, ", ")}
			}
			ms, stores, err := src.mappings(stderr)
			if err != nil {
				return err
			}
			r, err := resolver(cmd.Context(), ms, stores)
			if err != nil {
				return err
			}
			vars, err := r.Resolve(cmd.Context(), ms)
			if err != nil {
				return resolveError(err)
			}
			data, err := runenv.Render(format, vars)
			if err != nil {
				return err
			}
			if err := runenv.WriteFile(out, data); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			fmt.Fprintf(stderr, "coffer: wrote %d variables to %s (mode 0600)\n", len(vars), out)
			return nil
		},
	}
	f := cmd.Flags()
	src.register(f)
	f.StringVar(&format, "format", "dotenv", "dotenv, json or yaml")
	f.StringVarP(&out, "out", "o", "", "file to write (required; mode 0600)")
	return cmd
}
