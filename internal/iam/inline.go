package iam

import (
	"context"
	"maps"
	"slices"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Inline policies of users, groups and roles, kept by name in the entity's
// doc. IAM limits the total size of an entity's inline policies (counted
// without whitespace).
var maxInlineSize = map[storage.EntityKind]int{
	storage.EntityUser:  2048,
	storage.EntityGroup: 5120,
	storage.EntityRole:  10240,
}

func noSuchInline(kind storage.EntityKind, name string) *Error {
	return newError("NoSuchEntity", "The %s policy with name %s cannot be found.", kindNoun(kind), name)
}

func inlineArgs(kind storage.EntityKind, entityName, policyName string) error {
	if err := checkHolder(kind, entityName); err != nil {
		return err
	}
	return validateInlineName(policyName)
}

// PutInlinePolicy adds or replaces an inline policy of a user, group or
// role (iam:PutUserPolicy, iam:PutGroupPolicy, iam:PutRolePolicy).
func (s *Service) PutInlinePolicy(ctx context.Context, c Caller, kind storage.EntityKind, entityName, policyName, document string) error {
	if err := inlineArgs(kind, entityName, policyName); err != nil {
		return err
	}
	if document == "" {
		return validationError(document, "policyDocument", "Member must have length greater than or equal to 1")
	}
	if len(document) > 131072 {
		return newError("ValidationError", "1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to 131072")
	}
	if _, err := parsePolicy(policyName, document, policy.Identity); err != nil {
		return err
	}
	return s.change(ctx, c, "Put"+kindTitle(kind)+"Policy", kind, entityName, func(_ storage.Tx, e *entity) error {
		total := policySize(document)
		for name, d := range e.doc.Inline {
			if name != policyName {
				total += policySize(d)
			}
		}
		if max := maxInlineSize[kind]; total > max {
			return newError("LimitExceeded", "Maximum policy size of %d bytes exceeded for %s %s", max, kindNoun(kind), e.rec.Name)
		}
		if e.doc.Inline == nil {
			e.doc.Inline = map[string]string{}
		}
		e.doc.Inline[policyName] = document
		return nil
	})
}

// GetInlinePolicy returns the document of an inline policy.
func (s *Service) GetInlinePolicy(ctx context.Context, c Caller, kind storage.EntityKind, entityName, policyName string) (string, error) {
	if err := inlineArgs(kind, entityName, policyName); err != nil {
		return "", err
	}
	e, err := s.target(ctx, c, "Get"+kindTitle(kind)+"Policy", kind, entityName)
	if err != nil {
		return "", err
	}
	d, ok := e.doc.Inline[policyName]
	if !ok {
		return "", noSuchInline(kind, policyName)
	}
	return d, nil
}

// DeleteInlinePolicy deletes an inline policy.
func (s *Service) DeleteInlinePolicy(ctx context.Context, c Caller, kind storage.EntityKind, entityName, policyName string) error {
	if err := inlineArgs(kind, entityName, policyName); err != nil {
		return err
	}
	return s.change(ctx, c, "Delete"+kindTitle(kind)+"Policy", kind, entityName, func(_ storage.Tx, e *entity) error {
		if _, ok := e.doc.Inline[policyName]; !ok {
			return noSuchInline(kind, policyName)
		}
		delete(e.doc.Inline, policyName)
		return nil
	})
}

// ListInlinePolicies returns the names of an entity's inline policies,
// sorted.
func (s *Service) ListInlinePolicies(ctx context.Context, c Caller, kind storage.EntityKind, entityName string) ([]string, error) {
	if err := checkHolder(kind, entityName); err != nil {
		return nil, err
	}
	e, err := s.target(ctx, c, "List"+kindTitle(kind)+"Policies", kind, entityName)
	if err != nil {
		return nil, err
	}
	names := sortedKeys(e.doc.Inline)
	if names == nil {
		names = []string{}
	}
	return names, nil
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
