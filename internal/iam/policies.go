package iam

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Customer managed policies. A policy is an entity of kind EntityPolicy
// named by its name (unique in the account whatever its path); its
// versions, default version and attachment count live in its doc. The
// count is kept in step by AttachPolicy and DetachPolicy in the same
// transaction as the attached entity.

const (
	maxPolicyVersions  = 5
	maxManagedSize     = 6144
	maxAttachedPerKind = 10
)

var versionIDRE = regexp.MustCompile(`^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$`)

// splitARN splits an IAM ARN of this partition whose resource is
// noun/path/name ("policy", "role") into its account, path and name.
func (s *Service) splitARN(arn, noun string) (account, path, name string, ok bool) {
	prefix := "arn:" + s.partition + ":iam::"
	if !strings.HasPrefix(arn, prefix) {
		return "", "", "", false
	}
	account, rest, found := strings.Cut(arn[len(prefix):], ":"+noun+"/")
	if !found || !accountRE.MatchString(account) {
		return "", "", "", false
	}
	rest = "/" + rest
	i := strings.LastIndexByte(rest, '/')
	path, name = rest[:i+1], rest[i+1:]
	if !nameRE.MatchString(name) {
		return "", "", "", false
	}
	return account, path, name, true
}

// parsePolicyARN splits a customer managed policy ARN of this partition.
func (s *Service) parsePolicyARN(arn string) (account, path, name string, ok bool) {
	return s.splitARN(arn, "policy")
}

func noSuchPolicy(arn string) *Error {
	return newError("NoSuchEntity", "Policy %s was not found.", arn)
}

func notAttachable(arn string) *Error {
	return newError("NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
}

// validPolicyARN checks the syntax of a policy ARN argument.
func (s *Service) validPolicyARN(arn string) error {
	if len(arn) < 20 {
		return validationError(arn, "policyArn", "Member must have length greater than or equal to 20")
	}
	if len(arn) > 2048 {
		return validationError(arn, "policyArn", "Member must have length less than or equal to 2048")
	}
	if !strings.HasPrefix(arn, "arn:") || strings.Count(arn, ":") < 5 {
		return newError("InvalidInput", "ARN %s is not valid.", arn)
	}
	return nil
}

// loadPolicyByARN reads the managed policy arn names in account; anything
// else (another account, an AWS managed policy, a path that differs) is
// NoSuchEntity "was not found".
func (s *Service) loadPolicyByARN(tx storage.Tx, account, arn string) (*entity, error) {
	acct, path, name, ok := s.parsePolicyARN(arn)
	if !ok || acct != account {
		return nil, noSuchPolicy(arn)
	}
	p, err := loadEntity(tx, account, storage.EntityPolicy, name)
	if isNoSuchEntity(err) || (err == nil && (p.rec.Path != path || p.rec.Name != name)) {
		return nil, noSuchPolicy(arn)
	}
	return p, err
}

func (e *entity) version(id string) *storedVersion {
	for i := range e.doc.Versions {
		if e.doc.Versions[i].ID == id {
			return &e.doc.Versions[i]
		}
	}
	return nil
}

func (s *Service) toManagedPolicy(e *entity) *ManagedPolicy {
	return &ManagedPolicy{
		Name: e.rec.Name, ID: e.rec.ID, ARN: s.entityARN(e.rec), Path: e.rec.Path,
		Description: e.doc.Description, DefaultVersionID: e.doc.DefaultVersion,
		AttachmentCount: e.doc.AttachmentCount, Created: e.rec.Created, Updated: fromMS(e.doc.UpdatedMS),
		Tags: append([]Tag(nil), e.doc.Tags...),
	}
}

// checkManagedDocument validates a managed policy document.
func checkManagedDocument(arn, document string) error {
	if document == "" {
		return validationError(document, "policyDocument", "Member must have length greater than or equal to 1")
	}
	if policySize(document) > maxManagedSize {
		return newError("LimitExceeded", "Cannot exceed quota for PolicySize: %d", maxManagedSize)
	}
	_, err := parsePolicy(arn, document, policy.Identity)
	return err
}

// CreatePolicy creates a customer managed policy with version v1.
func (s *Service) CreatePolicy(ctx context.Context, c Caller, in PolicyInput) (*ManagedPolicy, error) {
	acct, path, err := createArgs(c, storage.EntityPolicy, "policyName", in.Name, in.Path)
	if err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	arn := s.arn(acct, storage.EntityPolicy, path, in.Name)
	if err := checkManagedDocument(arn, in.Document); err != nil {
		return nil, err
	}
	if err := s.authorize(c, "CreatePolicy", arn, acct, tagContext(in.Tags)); err != nil {
		return nil, err
	}
	now := s.clock()
	e := &entity{rec: &storage.Entity{
		Account: acct, Kind: storage.EntityPolicy, Name: in.Name, ID: newID(storage.EntityPolicy),
		Path: path, Created: now,
	}, doc: doc{
		Tags: in.Tags, Description: in.Description,
		Versions:       []storedVersion{{ID: "v1", Document: in.Document, CreatedMS: now.UnixMilli()}},
		DefaultVersion: "v1", NextVersion: 2, UpdatedMS: now.UnixMilli(),
	}}
	if err := e.encode(); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, e.rec); err != nil {
		return nil, err
	}
	return s.toManagedPolicy(e), nil
}

// policyTarget validates arn, authorizes action on it and reads the policy.
func (s *Service) policyTarget(ctx context.Context, c Caller, action, arn string) (*entity, error) {
	acct, err := callerAccount(c)
	if err != nil {
		return nil, err
	}
	if err := s.validPolicyARN(arn); err != nil {
		return nil, err
	}
	owner, _, _, ok := s.parsePolicyARN(arn)
	if !ok {
		owner = acct
	}
	if err := s.authorize(c, action, arn, owner, nil); err != nil {
		return nil, err
	}
	var p *entity
	err = s.store.View(ctx, func(tx storage.Tx) (err error) {
		p, err = s.loadPolicyByARN(tx, acct, arn)
		return err
	})
	return p, err
}

// GetPolicy returns a customer managed policy.
func (s *Service) GetPolicy(ctx context.Context, c Caller, arn string) (*ManagedPolicy, error) {
	p, err := s.policyTarget(ctx, c, "GetPolicy", arn)
	if err != nil {
		return nil, err
	}
	return s.toManagedPolicy(p), nil
}

func checkVersionID(id string) error {
	if !versionIDRE.MatchString(id) {
		return validationError(id, "versionId", `Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	}
	return nil
}

func noSuchVersion(arn, id string) *Error {
	return newError("NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", arn, id)
}

func toVersion(p *entity, v *storedVersion) *PolicyVersion {
	return &PolicyVersion{VersionID: v.ID, Document: v.Document, IsDefault: v.ID == p.doc.DefaultVersion, Created: fromMS(v.CreatedMS)}
}

// GetPolicyVersion returns one version of a managed policy.
func (s *Service) GetPolicyVersion(ctx context.Context, c Caller, arn, versionID string) (*PolicyVersion, error) {
	if err := checkVersionID(versionID); err != nil {
		return nil, err
	}
	p, err := s.policyTarget(ctx, c, "GetPolicyVersion", arn)
	if err != nil {
		return nil, err
	}
	v := p.version(versionID)
	if v == nil {
		return nil, noSuchVersion(arn, versionID)
	}
	return toVersion(p, v), nil
}

// changePolicy authorizes action on the policy arn and runs fn on it in one
// transaction; cached identities are dropped afterwards.
func (s *Service) changePolicy(ctx context.Context, c Caller, action, arn string, fn func(p *entity) error) error {
	p, err := s.policyTarget(ctx, c, action, arn)
	if err != nil {
		return err
	}
	return s.update(ctx, p.rec.Account, storage.EntityPolicy, p.rec.Name, func(tx storage.Tx, p *entity) error {
		return fn(p)
	})
}

// CreatePolicyVersion adds a version (v2, v3, ...); a policy has at most
// five.
func (s *Service) CreatePolicyVersion(ctx context.Context, c Caller, arn, document string, setAsDefault bool) (*PolicyVersion, error) {
	if err := checkManagedDocument(arn, document); err != nil {
		return nil, err
	}
	var out *PolicyVersion
	err := s.changePolicy(ctx, c, "CreatePolicyVersion", arn, func(p *entity) error {
		if len(p.doc.Versions) >= maxPolicyVersions {
			return newError("LimitExceeded", "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		now := s.clock().UnixMilli()
		v := storedVersion{ID: "v" + strconv.Itoa(p.doc.NextVersion), Document: document, CreatedMS: now}
		p.doc.NextVersion++
		p.doc.Versions = append(p.doc.Versions, v)
		if setAsDefault {
			p.doc.DefaultVersion = v.ID
		}
		p.doc.UpdatedMS = now
		out = toVersion(p, &v)
		return nil
	})
	return out, err
}

// SetDefaultPolicyVersion makes an existing version the default.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, c Caller, arn, versionID string) error {
	if err := checkVersionID(versionID); err != nil {
		return err
	}
	return s.changePolicy(ctx, c, "SetDefaultPolicyVersion", arn, func(p *entity) error {
		if p.version(versionID) == nil {
			return noSuchVersion(arn, versionID)
		}
		p.doc.DefaultVersion = versionID
		p.doc.UpdatedMS = s.clock().UnixMilli()
		return nil
	})
}

// DeletePolicyVersion deletes a version that is not the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, c Caller, arn, versionID string) error {
	if err := checkVersionID(versionID); err != nil {
		return err
	}
	return s.changePolicy(ctx, c, "DeletePolicyVersion", arn, func(p *entity) error {
		if p.version(versionID) == nil {
			return noSuchVersion(arn, versionID)
		}
		if versionID == p.doc.DefaultVersion {
			return deleteConflict("Cannot delete the default version of a policy.")
		}
		p.doc.Versions = slices.DeleteFunc(p.doc.Versions, func(v storedVersion) bool { return v.ID == versionID })
		return nil
	})
}

// ListPolicyVersions lists a policy's versions, newest first.
func (s *Service) ListPolicyVersions(ctx context.Context, c Caller, arn string) ([]*PolicyVersion, error) {
	p, err := s.policyTarget(ctx, c, "ListPolicyVersions", arn)
	if err != nil {
		return nil, err
	}
	out := make([]*PolicyVersion, 0, len(p.doc.Versions))
	for i := len(p.doc.Versions) - 1; i >= 0; i-- {
		out = append(out, toVersion(p, &p.doc.Versions[i]))
	}
	return out, nil
}

// DeletePolicy deletes a policy that is attached to nothing and has only
// its default version left.
func (s *Service) DeletePolicy(ctx context.Context, c Caller, arn string) error {
	p, err := s.policyTarget(ctx, c, "DeletePolicy", arn)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		p, err := s.loadPolicyByARN(tx, p.rec.Account, arn)
		if err != nil {
			return err
		}
		if p.doc.AttachmentCount > 0 {
			return deleteConflict("Cannot delete a policy attached to entities.")
		}
		if len(p.doc.Versions) > 1 {
			return deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		if err := tx.DeleteEntity(p.rec.Account, storage.EntityPolicy, p.rec.Name); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, p.rec.Account, nil, s.entityResource(p.rec))
	})
	s.forgetIdentities()
	return err
}

// ListPolicies lists the account's customer managed policies under
// pathPrefix (ordered by name); onlyAttached keeps those attached to at
// least one entity.
func (s *Service) ListPolicies(ctx context.Context, c Caller, pathPrefix string, onlyAttached bool) ([]*ManagedPolicy, error) {
	es, err := s.list(ctx, c, "ListPolicies", storage.EntityPolicy, pathPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*ManagedPolicy, 0, len(es))
	for _, e := range es {
		if onlyAttached && e.doc.AttachmentCount == 0 {
			continue
		}
		out = append(out, s.toManagedPolicy(e))
	}
	return out, nil
}

// attachAction names the IAM action of an attach, detach or list on kind.
func attachAction(verb string, kind storage.EntityKind) string {
	return verb + kindTitle(kind) + "Policy"
}

func checkAttachKind(kind storage.EntityKind) error {
	switch kind {
	case storage.EntityUser, storage.EntityGroup, storage.EntityRole:
		return nil
	}
	return newError("InvalidInput", "Policies attach to users, groups and roles, not to %s.", kind)
}

func memberOf(kind storage.EntityKind) string { return kindNoun(kind) + "Name" }

// checkHolder checks the kind and name of the user, group or role a
// policy call names.
func checkHolder(kind storage.EntityKind, entityName string) error {
	if err := checkAttachKind(kind); err != nil {
		return err
	}
	return validateName(kind, memberOf(kind), entityName)
}

// AttachPolicy attaches a managed policy to a user, group or role (at most
// ten per entity; attaching one that is attached is a no-op).
func (s *Service) AttachPolicy(ctx context.Context, c Caller, kind storage.EntityKind, entityName, policyARN string) error {
	if err := checkHolder(kind, entityName); err != nil {
		return err
	}
	if err := s.validPolicyARN(policyARN); err != nil {
		return err
	}
	return s.change(ctx, c, attachAction("Attach", kind), kind, entityName, func(tx storage.Tx, e *entity) error {
		p, err := s.loadPolicyByARN(tx, e.rec.Account, policyARN)
		if isNoSuchEntity(err) {
			return notAttachable(policyARN)
		}
		if err != nil {
			return err
		}
		arn := s.entityARN(p.rec)
		if slices.Contains(e.doc.Attached, arn) {
			return nil
		}
		if len(e.doc.Attached) >= maxAttachedPerKind {
			return newError("LimitExceeded", "Cannot exceed quota for PoliciesPer%s: %d", kindTitle(kind), maxAttachedPerKind)
		}
		e.doc.Attached = append(e.doc.Attached, arn)
		p.doc.AttachmentCount++
		return p.save(tx)
	})
}

// DetachPolicy detaches a managed policy; one that is not attached is
// NoSuchEntity.
func (s *Service) DetachPolicy(ctx context.Context, c Caller, kind storage.EntityKind, entityName, policyARN string) error {
	if err := checkHolder(kind, entityName); err != nil {
		return err
	}
	if err := s.validPolicyARN(policyARN); err != nil {
		return err
	}
	return s.change(ctx, c, attachAction("Detach", kind), kind, entityName, func(tx storage.Tx, e *entity) error {
		if !slices.Contains(e.doc.Attached, policyARN) {
			return noSuchPolicy(policyARN)
		}
		e.doc.Attached = slices.DeleteFunc(e.doc.Attached, func(a string) bool { return a == policyARN })
		p, err := s.loadPolicyByARN(tx, e.rec.Account, policyARN)
		if isNoSuchEntity(err) {
			return nil
		}
		if err != nil {
			return err
		}
		p.doc.AttachmentCount = max(0, p.doc.AttachmentCount-1)
		return p.save(tx)
	})
}

// ListAttachedPolicies lists the managed policies attached to an entity
// whose path starts with pathPrefix, in the order they were attached.
func (s *Service) ListAttachedPolicies(ctx context.Context, c Caller, kind storage.EntityKind, entityName, pathPrefix string) ([]AttachedPolicy, error) {
	if err := checkHolder(kind, entityName); err != nil {
		return nil, err
	}
	prefix, err := normPathPrefix(pathPrefix)
	if err != nil {
		return nil, err
	}
	e, err := s.target(ctx, c, "ListAttached"+kindTitle(kind)+"Policies", kind, entityName)
	if err != nil {
		return nil, err
	}
	out := []AttachedPolicy{}
	for _, arn := range e.doc.Attached {
		_, path, name, ok := s.parsePolicyARN(arn)
		if !ok || !strings.HasPrefix(path, prefix) {
			continue
		}
		out = append(out, AttachedPolicy{Name: name, ARN: arn})
	}
	return out, nil
}
