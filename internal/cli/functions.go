package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/rotation/function"
	"github.com/coffer-dev/coffer/internal/server"
)

// functionsCommand is "coffer functions": the custom rotation functions of
// an account, managed on the store directly (not through the API).
func functionsCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "functions",
		Short: "Manage custom rotation functions",
		Long: `Manage custom rotation functions: commands or URLs that coffer calls for
each step of a rotation, as AWS Secrets Manager calls a rotation Lambda.

These commands work on the store directly: with the embedded store, stop
the server first (the database is locked while it serves).`,
	}
	cfg := adminConfig()
	account := os.Getenv("COFFER_ACCOUNT_ID")
	pf := cmd.PersistentFlags()
	pf.StringVar(&account, "account", account, "account of the functions (default: the deployment's only account; env COFFER_ACCOUNT_ID)")
	adminStoreFlags(pf, &cfg)

	var (
		name, execLine, url string
		env                 []string
		timeout             time.Duration
	)
	create := &cobra.Command{
		Use:   "create --name NAME (--exec 'COMMAND ARGS...' | --url URL)",
		Short: "Register a rotation function",
		Long: `Register a rotation function of the account.

--exec runs COMMAND (split into words as a shell would, with quotes, but
never run by a shell) with the Lambda event as JSON on stdin and, in its
environment, AWS_ENDPOINT_URL (coffer), AWS_REGION and temporary credentials
allowed on the one secret being rotated. Exit status 0 means the step
succeeded; stderr is kept as the step's log.

--url receives the same event as an HTTP POST signed with an HMAC
(X-Coffer-Timestamp, X-Coffer-Signature: sha256=hex(HMAC-SHA256(key,
timestamp + "." + body))); a 2xx answer means success. The key is printed
once, here.

  coffer functions create --name rotate-app \
      --exec '/usr/bin/python3 /opt/rotation/wrapper.py' --env EXCLUDE_CHARACTERS=/@

Name the function in RotateSecret's RotationLambdaARN by its name or as
arn:aws:lambda:REGION:ACCOUNT:function:NAME.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec := function.Spec{Name: name, URL: url, Timeout: timeout}
			if execLine != "" {
				argv, err := splitWords(execLine)
				if err != nil {
					return hinted{fmt.Errorf("--exec: %w", err), "quote arguments with ' or \""}
				}
				spec.Exec = argv
			}
			for _, kv := range env {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return hinted{fmt.Errorf("--env %q: want KEY=VALUE", kv), "repeat --env for several variables"}
				}
				if spec.Env == nil {
					spec.Env = map[string]string{}
				}
				spec.Env[k] = v
			}
			err := server.CreateFunction(cmd.Context(), cfg, account, spec, stdout)
			if errors.Is(err, function.ErrExists) {
				return hinted{err, "delete it first with 'coffer functions delete --name " + name + "'"}
			}
			return lockHint(err)
		},
	}
	f := create.Flags()
	f.StringVar(&name, "name", "", "function name: 1-64 letters, digits, '-' or '_' (as Lambda's)")
	f.StringVar(&execLine, "exec", "", "command to run for each step")
	f.StringVar(&url, "url", "", "http(s) URL to POST each step to")
	f.StringArrayVar(&env, "env", nil, "KEY=VALUE added to an exec function's environment (repeatable)")
	f.DurationVar(&timeout, "timeout", 0, "time limit of one step (default 60s, at most 15m)")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the account's rotation functions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lockHint(server.ListFunctions(cmd.Context(), cfg, account, stdout))
		},
	}

	var delName string
	del := &cobra.Command{
		Use:   "delete --name NAME",
		Short: "Remove a rotation function (rotations that call it fail afterwards)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lockHint(server.DeleteFunction(cmd.Context(), cfg, account, delName, stdout))
		},
	}
	del.Flags().StringVar(&delName, "name", "", "function name")
	_ = del.MarkFlagRequired("name")

	cmd.AddCommand(create, list, del)
	return cmd
}

// splitWords splits s into words as a POSIX shell does for quoting alone:
// blanks separate words; '...' keeps everything literally; "..." keeps
// everything but \" \\ \$ \` which lose their backslash; a backslash
// outside quotes escapes the next character. No expansion of any kind.
func splitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '\'':
			in = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, errors.New("unterminated ' quote")
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case c == '"':
			in = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[j+1]) {
					j++
				}
				cur.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, errors.New("unterminated \" quote")
			}
			i = j
		case c == '\\':
			in = true
			if i+1 == len(rs) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteRune(rs[i])
		default:
			in = true
			cur.WriteRune(c)
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
