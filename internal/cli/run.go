package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/coffer-dev/coffer/internal/runenv"
)

// exitCode ends coffer with COMMAND's exit code; cli.Run returns it
// without printing anything.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// sourceFlags are the flags that say which secrets to resolve, shared by
// run, plan and render.
type sourceFlags struct {
	envs     []string
	config   string
	region   string
	profile  string
	endpoint string
}

func (f *sourceFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.envs, "env", "e", nil,
		"NAME=REF to set variable NAME from a secret reference, or the name of an environment of --config (repeatable)")
	fs.StringVarP(&f.config, "config", "c", "", "dsops.yaml file to read (default dsops.yaml when --env names an environment)")
	fs.StringVar(&f.region, "region", "", "AWS region for NAME=REF references (default: the AWS configuration chain)")
	fs.StringVar(&f.profile, "profile", "", "AWS profile for NAME=REF references")
	fs.StringVar(&f.endpoint, "endpoint-url", "", "Secrets Manager endpoint for NAME=REF references (default: AWS_ENDPOINT_URL...)")
}

const refHint = "references are SECRET_ID[@AWSPREVIOUS|@stage:LABEL|@version:ID][#json.field]; see docs/DEVELOPERS.md"

// mappings returns what to resolve and the stores it needs, without any
// network call.
func (f *sourceFlags) mappings(warn io.Writer) ([]runenv.Mapping, map[string]runenv.Store, error) {
	var envName string
	var cli []runenv.Mapping
	for _, e := range f.envs {
		name, ref, ok := strings.Cut(e, "=")
		if !ok {
			if envName != "" {
				return nil, nil, hinted{fmt.Errorf("two environments given: %q and %q", envName, e), "give one --env ENVIRONMENT"}
			}
			envName = e
			continue
		}
		if !runenv.ValidVarName(name) {
			return nil, nil, hinted{fmt.Errorf("--env %q: %q is not a valid variable name", e, name), "write --env NAME=SECRET_ID"}
		}
		r, err := runenv.ParseRef(ref)
		if err != nil {
			return nil, nil, hinted{fmt.Errorf("--env %s: %w", name, err), refHint}
		}
		for _, m := range cli {
			if m.Var == name {
				return nil, nil, fmt.Errorf("--env %s is given twice", name)
			}
		}
		cli = append(cli, runenv.Mapping{Var: name, Ref: r, Source: ref})
	}
	stores := map[string]runenv.Store{}
	var ms []runenv.Mapping
	switch {
	case envName != "":
		path := f.config
		if path == "" {
			path = "dsops.yaml"
		}
		c, err := runenv.LoadConfig(path)
		if err != nil {
			return nil, nil, hinted{err, "coffer reads dsops.yaml files with secretStores of type aws.secretsmanager; see docs/DEVELOPERS.md"}
		}
		for _, w := range c.Warnings {
			fmt.Fprintf(warn, "coffer: warning: %s\n", w)
		}
		env, err := c.Env(envName)
		if err != nil {
			return nil, nil, err
		}
		ms = append(ms, env...)
		for name, s := range c.Stores {
			stores[name] = s
		}
	case f.config != "":
		return nil, nil, hinted{errors.New("--config needs an environment"), "add --env ENVIRONMENT (one of the file's envs)"}
	}
	for _, m := range cli {
		replaced := false
		for i := range ms {
			if ms[i].Var == m.Var {
				ms[i], replaced = m, true
			}
		}
		if !replaced {
			ms = append(ms, m)
		}
	}
	if len(cli) > 0 {
		stores[""] = runenv.Store{Region: f.region, Profile: f.profile, Endpoint: f.endpoint}
	}
	if len(ms) == 0 {
		return nil, nil, hinted{errors.New("nothing to resolve"), "give --env NAME=SECRET_ID, or --config dsops.yaml --env ENVIRONMENT"}
	}
	return ms, stores, nil
}

// resolver builds one Secrets Manager client per store in use.
func resolver(ctx context.Context, ms []runenv.Mapping, stores map[string]runenv.Store) (*runenv.Resolver, error) {
	r := &runenv.Resolver{Clients: map[string]runenv.API{}}
	for _, m := range ms {
		if m.Literal != nil {
			continue
		}
		if _, done := r.Clients[m.Store]; done {
			continue
		}
		c, err := stores[m.Store].Client(ctx)
		if err != nil {
			if m.Store != "" {
				err = fmt.Errorf("store %s: %w", m.Store, err)
			}
			return nil, withHint(err)
		}
		r.Clients[m.Store] = c
	}
	return r, nil
}

// withHint keeps the hint of a runenv error for the "hint:" line.
func withHint(err error) error {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return hinted{err, h.Hint()}
	}
	return err
}

func resolveError(err error) error {
	return hinted{fmt.Errorf("cannot resolve the secrets (no value is shown):\n%w", err),
		"check the secret ids, versions and fields; nothing was started"}
}

func runCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		src      sourceFlags
		watch    bool
		interval time.Duration
		sigName  string
		grace    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARGS...]",
		Short: "Run a command with secrets in its environment",
		Long: `Resolve secrets and run COMMAND with them in its environment.

Secrets come from --env NAME=REF flags, where REF is
  SECRET_ID                  the AWSCURRENT value (a name or an ARN)
  SECRET_ID#field.path       a field of a JSON value
  SECRET_ID@AWSPREVIOUS      a staging label (also @AWSPENDING, @stage:LABEL)
  SECRET_ID@version:ID       a version id
(combined as SECRET_ID@SELECTOR#field), or from a dsops.yaml:
  coffer run --config dsops.yaml --env production -- app

Credentials, region and endpoint come from the standard AWS configuration
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ~/.aws/...). Nothing is written to
disk. A missing secret or field fails before COMMAND starts. Signals are
forwarded and COMMAND's exit code is returned (128+N if signal N killed it).

With --watch the AWSCURRENT version of every secret used is polled; when one
changes the secrets are resolved again and COMMAND is restarted (SIGTERM, then
SIGKILL after --watch-grace) or, with --watch-signal, sent that signal.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sig os.Signal
			if sigName != "" {
				s, err := runenv.ParseSignal(sigName)
				if err != nil {
					return hinted{err, "use a signal name such as HUP, USR1 or TERM"}
				}
				sig = s
			}
			if watch && interval <= 0 {
				return errors.New("--watch-interval must be positive")
			}
			ms, stores, err := src.mappings(stderr)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			r, err := resolver(ctx, ms, stores)
			if err != nil {
				return err
			}
			w := &runenv.Watcher{Resolver: r, Mappings: ms, Interval: interval,
				Warn: func(err error) { fmt.Fprintf(stderr, "coffer: warning: watch: %v\n", err) }}
			var base runenv.Versions
			if watch {
				if base, err = w.Current(ctx); err != nil {
					return resolveError(err)
				}
			}
			vars, err := r.Resolve(ctx, ms)
			if err != nil {
				return resolveError(err)
			}
			opts := runenv.ExecOptions{
				Argv: args, Env: runenv.Environ(os.Environ(), vars),
				Stdin: os.Stdin, Stdout: stdout, Stderr: stderr,
				Signal: sig, Grace: grace,
				Notify: func(s string) { fmt.Fprintf(stderr, "coffer: %s\n", s) },
			}
			if watch {
				updates := make(chan []string)
				opts.Updates = updates
				go w.Run(ctx, base, vars, func(v []runenv.Var) {
					select {
					case updates <- runenv.Environ(os.Environ(), v):
					case <-ctx.Done():
					}
				})
			}
			code, err := runenv.Exec(ctx, opts)
			if err != nil {
				fmt.Fprintf(stderr, "coffer: error: %v\n", err)
				return exitCode(code)
			}
			if code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after COMMAND belong to COMMAND
	src.register(f)
	f.BoolVar(&watch, "watch", false, "restart (or signal) COMMAND when a secret's AWSCURRENT version changes")
	f.DurationVar(&interval, "watch-interval", 30*time.Second, "how often --watch polls")
	f.StringVar(&sigName, "watch-signal", "", "with --watch, send this signal (e.g. HUP) instead of restarting")
	f.DurationVar(&grace, "watch-grace", 10*time.Second, "with --watch, how long a restart waits after SIGTERM before SIGKILL")
	return cmd
}
