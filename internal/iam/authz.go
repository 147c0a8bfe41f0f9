package iam

import (
	"github.com/coffer-dev/coffer/internal/policy"
)

// authorize checks that the caller may perform iam:<action> on resource
// (an ARN in account). Only identity-based policies decide: IAM entities
// have no resource policies. A caller may only administer its own account.
// extra adds request-specific condition keys (aws:RequestTag/..., ...).
func (s *Service) authorize(c Caller, action, resource, account string, extra func(*policy.Context)) error {
	return s.authorizeAs(c, "iam:"+action, resource, account, extra)
}

func (s *Service) authorizeAs(c Caller, action, resource, account string, extra func(*policy.Context)) error {
	id := c.Identity
	if id == nil {
		return &Error{Code: "AccessDenied", Message: "not authorized to perform: " + action + " on resource: " + resource}
	}
	denied := func(tail string) error {
		msg := "User: " + id.Principal.ARN + " is not authorized to perform: " + action + " on resource: " + resource
		if tail != "" {
			msg += " " + tail
		}
		return &Error{Code: "AccessDenied", Message: msg}
	}
	if account != id.Principal.Account {
		return denied("because no identity-based policy allows the " + action + " action")
	}
	if id.Root {
		return nil // the root may do everything in its own account
	}
	var ctx policy.Context
	id.Fill(&ctx, c.Request)
	if extra != nil {
		extra(&ctx)
	}
	res := policy.Authorize(&policy.Input{
		Request: &policy.Request{
			Principal: id.PolicyPrincipal(),
			Action:    action,
			Resource:  resource,
			Context:   &ctx,
			Now:       c.Request.Now,
		},
		Identity:        id.Policies,
		Session:         id.Session,
		ResourceAccount: account,
		Root:            id.Root,
	})
	if res.Allowed {
		return nil
	}
	return denied(res.Denial(action))
}

// tagContext returns the extra condition keys of a call that sets tags:
// aws:TagKeys and aws:RequestTag/<key>.
func tagContext(tags []Tag) func(*policy.Context) {
	if len(tags) == 0 {
		return nil
	}
	return func(c *policy.Context) {
		keys := make([]string, len(tags))
		for i, t := range tags {
			keys[i] = t.Key
			c.Set("aws:RequestTag/"+t.Key, t.Value)
		}
		c.Set("aws:TagKeys", keys...)
	}
}

// tagKeysContext is tagContext for a call that removes tags.
func tagKeysContext(keys []string) func(*policy.Context) {
	if len(keys) == 0 {
		return nil
	}
	return func(c *policy.Context) { c.Set("aws:TagKeys", keys...) }
}
