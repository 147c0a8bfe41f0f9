package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/server"
)

// accountCommand is "coffer account": administration of the deployment's
// accounts, run on the store directly (not through the API).
func accountCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage the deployment's accounts"}
	cfg := adminConfig()
	var id string
	create := &cobra.Command{
		Use:   "create",
		Short: "Add an account and print its root access key once",
		Long: `Add an account to the deployment and print its root access key once.

It works on the store directly: with the embedded store, stop the server
first (the database is locked while it serves).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lockHint(server.CreateAccount(cmd.Context(), cfg, id, stdout))
		},
	}
	f := create.Flags()
	f.StringVar(&id, "id", "", "account id (12 digits); generated when omitted")
	adminStoreFlags(f, &cfg)
	cmd.AddCommand(create)
	return cmd
}

// policyCommand is "coffer policy": offline tools for IAM policies.
func policyCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Check and explain IAM policies"}
	var (
		identity  []string
		resPolicy string
		actions   []string
		resources []string
		principal string
		context   []string
	)
	sim := &cobra.Command{
		Use:   "simulate",
		Short: "Evaluate policies for actions and resources and say which statement decided",
		Long: `Evaluate identity policies (and a resource policy) for each action and
resource, as coffer evaluates a request, and say which statement decided.

  coffer policy simulate --policy app.json \
      --action secretsmanager:GetSecretValue \
      --resource arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf

Context keys are given as key=value (repeat the flag for several values of
one key). The principal defaults to a user of the resource's account.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return simulate(stdout, identity, resPolicy, actions, resources, principal, context)
		},
	}
	f := sim.Flags()
	f.StringArrayVar(&identity, "policy", nil, "identity policy file (repeatable)")
	f.StringVar(&resPolicy, "resource-policy", "", "resource policy file")
	f.StringArrayVar(&actions, "action", nil, "action to evaluate, e.g. secretsmanager:GetSecretValue (repeatable)")
	f.StringArrayVar(&resources, "resource", nil, `resource ARN (repeatable; default "*")`)
	f.StringVar(&principal, "principal", "", "principal ARN making the request")
	f.StringArrayVar(&context, "context", nil, "condition key=value (repeatable)")
	_ = sim.MarkFlagRequired("action")
	cmd.AddCommand(sim)
	return cmd
}

func simulate(out io.Writer, identity []string, resPolicy string, actions, resources []string, principal string, kv []string) error {
	if len(identity) == 0 && resPolicy == "" {
		return hinted{fmt.Errorf("no policy to evaluate"), "give --policy FILE and/or --resource-policy FILE"}
	}
	var ids []*policy.Policy
	for _, path := range identity {
		p, err := readPolicy(path, policy.Identity)
		if err != nil {
			return err
		}
		ids = append(ids, p)
	}
	var rp *policy.Policy
	if resPolicy != "" {
		p, err := readPolicy(resPolicy, policy.Resource)
		if err != nil {
			return err
		}
		rp = p
	}
	pc := &policy.Context{}
	for _, e := range kv {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return fmt.Errorf("context %q: want key=value", e)
		}
		old, _ := pc.Get(k)
		pc.Set(k, append(append([]string(nil), old...), v)...)
	}
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	for _, res := range resources {
		owner := arnField(res, 4)
		p := principal
		if p == "" {
			acct := owner
			if acct == "" {
				acct = "123456789012"
			}
			p = "arn:aws:iam::" + acct + ":user/simulated"
		}
		pacct := arnField(p, 4)
		pr := policy.Principal{ARN: p, Account: pacct}
		if strings.Contains(p, ":assumed-role/") {
			parts := strings.Split(arnField(p, 5), "/")
			if len(parts) >= 2 {
				pr.RoleARN = "arn:" + arnField(p, 1) + ":iam::" + pacct + ":role/" + parts[1]
			}
		}
		for _, action := range actions {
			r := policy.Authorize(&policy.Input{
				Request:         &policy.Request{Principal: pr, Action: action, Resource: res, Context: pc, Now: time.Now().UTC()},
				Identity:        ids,
				Resource:        rp,
				ResourceAccount: owner,
				Root:            strings.HasSuffix(p, ":root"),
			})
			if r.Allowed {
				fmt.Fprintf(out, "%s on %s: allowed\n", action, res)
			} else {
				fmt.Fprintf(out, "%s on %s: denied %s\n", action, res, r.Denial(action))
			}
			for _, m := range r.Matched {
				sid := ""
				if m.Sid != "" {
					sid = fmt.Sprintf(" %q", m.Sid)
				}
				effect := "Allow"
				if m.Effect == policy.Deny {
					effect = "Deny"
				}
				fmt.Fprintf(out, "  decided by %s: statement%s (#%d, %s)\n", m.Policy, sid, m.Index, effect)
			}
		}
	}
	return nil
}

func readPolicy(path string, kind policy.Kind) (*policy.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(filepath.Base(path), string(b), kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// arnField returns field i (0-based, split on ':') of an ARN, or "".
func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || i >= len(parts) {
		return ""
	}
	return parts[i]
}
