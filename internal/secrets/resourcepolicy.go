package secrets

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Messages of the resource policy operations.
const (
	msgPolicySyntax       = "This policy has invalid syntax."
	msgUnsupportedPrinc   = "This resource policy contains an unsupported principal."
	msgPublicPolicy       = "You can't attach a policy that grants public access to this secret. Change the policy to restrict access or set BlockPublicPolicy to false."
	maxResourcePolicySize = 20480
)

// PolicyResult answers PutResourcePolicy and DeleteResourcePolicy.
type PolicyResult struct {
	ARN  string
	Name string
}

// ResourcePolicy answers GetResourcePolicy. Policy is nil when the secret
// has none (the member is then absent on the wire).
type ResourcePolicy struct {
	ARN    string
	Name   string
	Policy *string
}

// Validation answers ValidateResourcePolicy.
type Validation struct {
	Passed   bool
	Findings []policy.Finding
}

// parsePolicyDoc parses a resource policy document, turning a refusal into
// MalformedPolicyDocumentException.
func parsePolicyDoc(doc string) (*policy.Policy, error) {
	if len(doc) > maxResourcePolicySize {
		return nil, &Error{Kind: KindMalformedPolicy, Message: msgPolicySyntax}
	}
	p, err := parseResourcePolicy(doc)
	var me *policy.MalformedError
	if errors.As(err, &me) {
		msg := msgPolicySyntax
		if strings.Contains(strings.ToLower(me.Message), "principal") {
			msg = msgUnsupportedPrinc
		}
		return nil, &Error{Kind: KindMalformedPolicy, Message: msg}
	}
	return p, err
}

// PutResourcePolicy attaches a resource policy to a secret, replacing any
// previous one. With block set, a policy that grants access beyond the
// secret's account is refused (PublicPolicyException).
func (s *Service) PutResourcePolicy(ctx context.Context, c Caller, secretID, doc string, block bool) (*PolicyResult, error) {
	p, err := parsePolicyDoc(doc)
	if err != nil {
		return nil, err
	}
	a := access{action: actPutResourcePolicy, id: secretID, keys: func(pc *policy.Context) {
		pc.Set("secretsmanager:blockpublicpolicy", strconv.FormatBool(block))
	}}
	var res *PolicyResult
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		sec, err := s.resolve(tx, c, a)
		if err != nil {
			return err
		}
		if deleted(sec) {
			return errMarked()
		}
		if block && policy.IsPublic(p, sec.Account) {
			return &Error{Kind: KindPublicPolicy, Message: msgPublicPolicy}
		}
		if err := s.setPolicy(tx, sec, doc, &res); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, sec.Account, sec.ARN, elems(sec.ARN, sec.Name, ""))
	})
	if err != nil {
		return nil, s.internal(ctx, "PutResourcePolicy", err)
	}
	return res, nil
}

// DeleteResourcePolicy removes a secret's resource policy; it succeeds when
// there is none.
func (s *Service) DeleteResourcePolicy(ctx context.Context, c Caller, secretID string) (*PolicyResult, error) {
	var res *PolicyResult
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		sec, err := s.resolve(tx, c, access{action: actDeleteResourcePolicy, id: secretID})
		if err != nil {
			return err
		}
		if deleted(sec) {
			return errMarked()
		}
		if err := s.setPolicy(tx, sec, "", &res); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, sec.Account, sec.ARN, elems(sec.ARN, sec.Name, ""))
	})
	if err != nil {
		return nil, s.internal(ctx, "DeleteResourcePolicy", err)
	}
	return res, nil
}

func (s *Service) setPolicy(tx storage.Tx, sec *storage.Secret, doc string, res **PolicyResult) error {
	at, err := decodeAttrs(sec.Attrs)
	if err != nil {
		return err
	}
	*res = &PolicyResult{ARN: sec.ARN, Name: sec.Name}
	if at.ResourcePolicy == doc {
		return nil
	}
	at.ResourcePolicy = doc
	sec.Attrs = at.encode()
	return tx.UpdateSecret(sec)
}

// GetResourcePolicy returns a secret's resource policy as it was written.
func (s *Service) GetResourcePolicy(ctx context.Context, c Caller, secretID string) (*ResourcePolicy, error) {
	var res *ResourcePolicy
	err := s.store.View(ctx, func(tx storage.Tx) error {
		sec, err := s.resolve(tx, c, access{action: actGetResourcePolicy, id: secretID})
		if err != nil {
			return err
		}
		at, err := decodeAttrs(sec.Attrs)
		if err != nil {
			return err
		}
		res = &ResourcePolicy{ARN: sec.ARN, Name: sec.Name}
		if at.ResourcePolicy != "" {
			res.Policy = &at.ResourcePolicy
		}
		return nil
	})
	if err != nil {
		return nil, s.internal(ctx, "GetResourcePolicy", err)
	}
	return res, nil
}

// ValidateResourcePolicy checks a resource policy without attaching it:
// its syntax (a document that does not parse is
// MalformedPolicyDocumentException) and the findings of
// policy.ValidateResource. With a SecretId the secret must exist, and the
// caller needs ValidateResourcePolicy and PutResourcePolicy on it.
func (s *Service) ValidateResourcePolicy(ctx context.Context, c Caller, secretID *string, doc string) (*Validation, error) {
	p, err := parsePolicyDoc(doc)
	if err != nil {
		return nil, err
	}
	owner := c.Account
	if secretID != nil {
		err := s.store.View(ctx, func(tx storage.Tx) error {
			sec, err := s.resolve(tx, c, access{action: actValidateResourcePolicy, id: *secretID})
			if err != nil {
				return err
			}
			owner = sec.Account
			return s.authorize(c, access{action: actPutResourcePolicy, id: *secretID}, sec, sec.ARN)
		})
		if err != nil {
			return nil, s.internal(ctx, "ValidateResourcePolicy", err)
		}
	} else if err := s.authorize(c, access{action: actValidateResourcePolicy, id: "*"}, nil, "*"); err != nil {
		return nil, err
	}
	findings := policy.ValidateResource(p, owner)
	if findings == nil {
		findings = []policy.Finding{}
	}
	return &Validation{Passed: len(findings) == 0, Findings: findings}, nil
}
