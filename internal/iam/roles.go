package iam

import (
	"context"
	"errors"
	"strconv"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

const (
	defaultSessionDuration = 3600
	maxRoleSession         = 43200
	maxTrustPolicySize     = 2048
)

// parsePolicy parses a document of kind; a refused one is IAM's
// MalformedPolicyDocument with the parser's text.
func parsePolicy(name, document string, kind policy.Kind) (*policy.Policy, error) {
	p, err := policy.Parse(name, document, kind)
	var me *policy.MalformedError
	if errors.As(err, &me) {
		return nil, &Error{Code: "MalformedPolicyDocument", Message: me.Message}
	}
	return p, err
}

// checkTrustPolicy validates a role's trust policy.
func checkTrustPolicy(document string) error {
	if document == "" {
		return validationError(document, "assumeRolePolicyDocument", "Member must have length greater than or equal to 1")
	}
	if policySize(document) > maxTrustPolicySize {
		return newError("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	_, err := parsePolicy("trust-policy", document, policy.Trust)
	return err
}

func (s *Service) toRole(e *entity) *Role {
	d := e.doc.MaxSessionDuration
	if d == 0 {
		d = defaultSessionDuration
	}
	return &Role{
		Name: e.rec.Name, ID: e.rec.ID, ARN: s.entityARN(e.rec), Path: e.rec.Path,
		Description: e.doc.Description, AssumeRolePolicyDocument: e.doc.TrustPolicy,
		MaxSessionDuration: d, Created: e.rec.Created, Tags: append([]Tag(nil), e.doc.Tags...),
	}
}

// CreateRole creates a role with its trust policy.
func (s *Service) CreateRole(ctx context.Context, c Caller, in RoleInput) (*Role, error) {
	acct, path, err := createArgs(c, storage.EntityRole, "roleName", in.Name, in.Path)
	if err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	d := in.MaxSessionDuration
	if d == 0 {
		d = defaultSessionDuration
	}
	if d < defaultSessionDuration {
		return nil, validationError(strconv.Itoa(d), "maxSessionDuration", "Member must have value greater than or equal to 3600")
	}
	if d > maxRoleSession {
		return nil, validationError(strconv.Itoa(d), "maxSessionDuration", "Member must have value less than or equal to 43200")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkTrustPolicy(in.AssumeRolePolicyDocument); err != nil {
		return nil, err
	}
	if err := s.authorize(c, "CreateRole", s.arn(acct, storage.EntityRole, path, in.Name), acct, tagContext(in.Tags)); err != nil {
		return nil, err
	}
	e := &entity{rec: &storage.Entity{
		Account: acct, Kind: storage.EntityRole, Name: in.Name, ID: newID(storage.EntityRole),
		Path: path, Created: s.clock(),
	}, doc: doc{
		Tags: in.Tags, Description: in.Description, TrustPolicy: in.AssumeRolePolicyDocument, MaxSessionDuration: d,
	}}
	if err := e.encode(); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, e.rec); err != nil {
		return nil, err
	}
	return s.toRole(e), nil
}

// GetRole returns a role.
func (s *Service) GetRole(ctx context.Context, c Caller, name string) (*Role, error) {
	if err := validateName(storage.EntityRole, "roleName", name); err != nil {
		return nil, err
	}
	e, err := s.target(ctx, c, "GetRole", storage.EntityRole, name)
	if err != nil {
		return nil, err
	}
	return s.toRole(e), nil
}

// ListRoles lists the account's roles under pathPrefix, ordered by name.
func (s *Service) ListRoles(ctx context.Context, c Caller, pathPrefix string) ([]*Role, error) {
	es, err := s.list(ctx, c, "ListRoles", storage.EntityRole, pathPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*Role, 0, len(es))
	for _, e := range es {
		out = append(out, s.toRole(e))
	}
	return out, nil
}

// DeleteRole deletes a role without inline or attached policies. Its
// sessions keep authenticating until they expire, with no policies.
func (s *Service) DeleteRole(ctx context.Context, c Caller, name string) error {
	if err := validateName(storage.EntityRole, "roleName", name); err != nil {
		return err
	}
	r, err := s.target(ctx, c, "DeleteRole", storage.EntityRole, name)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		r, err := loadEntity(tx, r.rec.Account, storage.EntityRole, name)
		if err != nil {
			return err
		}
		switch {
		case len(r.doc.Inline) > 0:
			return deleteConflict("Cannot delete entity, must delete policies first.")
		case len(r.doc.Attached) > 0:
			return deleteConflict("Cannot delete entity, must detach all policies first.")
		}
		if err := tx.DeleteEntity(r.rec.Account, storage.EntityRole, name); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, r.rec.Account, nil, s.entityResource(r.rec))
	})
	s.forgetIdentities()
	return err
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, c Caller, name, document string) error {
	if err := validateName(storage.EntityRole, "roleName", name); err != nil {
		return err
	}
	if err := checkTrustPolicy(document); err != nil {
		return err
	}
	return s.change(ctx, c, "UpdateAssumeRolePolicy", storage.EntityRole, name, func(_ storage.Tx, e *entity) error {
		e.doc.TrustPolicy = document
		return nil
	})
}

// TagRole adds or replaces tags of a role.
func (s *Service) TagRole(ctx context.Context, c Caller, name string, tags []Tag) error {
	return s.tag(ctx, c, "TagRole", storage.EntityRole, "roleName", name, tags)
}

// UntagRole removes tags of a role by key.
func (s *Service) UntagRole(ctx context.Context, c Caller, name string, keys []string) error {
	return s.untag(ctx, c, "UntagRole", storage.EntityRole, "roleName", name, keys)
}

// ListRoleTags returns a role's tags.
func (s *Service) ListRoleTags(ctx context.Context, c Caller, name string) ([]Tag, error) {
	if err := validateName(storage.EntityRole, "roleName", name); err != nil {
		return nil, err
	}
	e, err := s.target(ctx, c, "ListRoleTags", storage.EntityRole, name)
	if err != nil {
		return nil, err
	}
	return nonNilTags(e.doc.Tags), nil
}
