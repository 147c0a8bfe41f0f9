package iam

import (
	"context"
	"strings"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// SimulatePrincipalPolicy evaluates the identity-based policies of a user
// (with its groups'), a group or a role — and an optional resource policy —
// for each action and resource, with the condition keys of
// in.ContextEntries alone (as IAM's simulator does, it fills in no global
// keys of its own).
func (s *Service) SimulatePrincipalPolicy(ctx context.Context, c Caller, in SimulateInput) ([]SimulateResult, error) {
	acct, err := callerAccount(c)
	if err != nil {
		return nil, err
	}
	if len(in.PolicySourceARN) < 20 {
		return nil, validationError(in.PolicySourceARN, "policySourceArn", "Member must have length greater than or equal to 20")
	}
	if len(in.ActionNames) == 0 {
		return nil, newError("ValidationError", "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	kind, owner, name, ok := s.parseEntityARN(in.PolicySourceARN)
	if !ok {
		return nil, newError("InvalidInput", "Invalid ARN: Could not be parsed!")
	}
	if err := s.authorize(c, "SimulatePrincipalPolicy", in.PolicySourceARN, owner, nil); err != nil {
		return nil, err
	}
	var resource *policy.Policy
	if in.ResourcePolicy != "" {
		if resource, err = parsePolicy("resource-policy", in.ResourcePolicy, policy.Resource); err != nil {
			return nil, err
		}
	}
	var docs []namedDoc
	err = s.store.View(ctx, func(tx storage.Tx) error {
		e, err := loadEntity(tx, acct, kind, name)
		if err != nil {
			return err
		}
		docs, err = s.identityPolicies(tx, e)
		return err
	})
	if err != nil {
		return nil, err
	}
	var pols []*policy.Policy
	for _, d := range docs {
		if p, err := policy.Parse(d.name, d.doc, policy.Identity); err == nil {
			pols = append(pols, p)
		}
	}
	var pc policy.Context
	for _, e := range in.ContextEntries {
		pc.Set(e.Key, e.Values...)
	}
	resources := in.ResourceARNs
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	principal := policy.Principal{ARN: in.PolicySourceARN, Account: acct}
	out := make([]SimulateResult, 0, len(in.ActionNames)*len(resources))
	for _, action := range in.ActionNames {
		for _, r := range resources {
			res := policy.Authorize(&policy.Input{
				Request:         &policy.Request{Principal: principal, Action: action, Resource: r, Context: &pc, Now: c.Request.Now},
				Identity:        pols,
				Resource:        resource,
				ResourceAccount: acct,
			})
			out = append(out, SimulateResult{Action: action, Resource: r, Decision: decision(res), Matched: res.Matched})
		}
	}
	return out, nil
}

func decision(r policy.Result) string {
	switch {
	case r.Allowed:
		return "allowed"
	case r.Reason == policy.ExplicitDenyIdentity || r.Reason == policy.ExplicitDenyResource || r.Reason == policy.ExplicitDenySession:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// parseEntityARN splits the ARN of a user, group or role of this partition.
func (s *Service) parseEntityARN(arn string) (kind storage.EntityKind, account, name string, ok bool) {
	prefix := "arn:" + s.partition + ":iam::"
	if !strings.HasPrefix(arn, prefix) {
		return "", "", "", false
	}
	account, rest, found := strings.Cut(arn[len(prefix):], ":")
	if !found || !accountRE.MatchString(account) {
		return "", "", "", false
	}
	noun, rest, found := strings.Cut(rest, "/")
	if !found {
		return "", "", "", false
	}
	switch noun {
	case "user":
		kind = storage.EntityUser
	case "group":
		kind = storage.EntityGroup
	case "role":
		kind = storage.EntityRole
	default:
		return "", "", "", false
	}
	name = rest[strings.LastIndexByte(rest, '/')+1:]
	if !nameRE.MatchString(name) {
		return "", "", "", false
	}
	return kind, account, name, true
}
