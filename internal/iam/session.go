package iam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Sessions that coffer issues for its own work (a custom rotation function
// acting on the one secret it rotates).
//
// Such a session is a role session of the account's service role
// ServiceRoleName (path ServiceRolePath), created on first use. The role's
// inline policy allows secretsmanager:* on every secret; the session policy
// given to IssueSession caps it, so the session may do exactly what the
// session policy allows (and, through the role, nothing outside Secrets
// Manager). A session of the root narrowed by a session policy would not
// do: the root is allowed everything in its account and Secrets Manager
// does not evaluate a root's session policy.
//
// The role's trust policy trusts only the service principal
// ServiceRolePrincipal, which no caller can be, so no one assumes the role
// through sts:AssumeRole. An operator may see the role in ListRoles;
// should its trust or its inline policy be changed or the role deleted, the
// next IssueSession puts them back. An explicit Deny an operator adds to
// the role (inline or attached) does apply to its sessions.

// The service role of IssueSession's sessions.
const (
	ServiceRoleName      = "CofferRotationFunction"
	ServiceRolePath      = "/service-role/"
	ServiceRolePrincipal = "rotation.coffer.internal"
	serviceRolePolicy    = "coffer-rotation"
)

const (
	serviceRoleTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` +
		ServiceRolePrincipal + `"},"Action":"sts:AssumeRole"}]}`
	serviceRoleInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`
	serviceRoleDesc   = "Sessions of coffer's custom rotation functions; each is capped to one secret by its session policy."
)

// Bounds of an IssueSession lifetime.
const (
	minServiceSession = time.Minute
	maxServiceSession = time.Hour
)

// IssueSession issues temporary credentials of the account's service role
// (see ServiceRoleName), capped by sessionPolicy: they are allowed exactly
// what sessionPolicy allows within Secrets Manager, for ttl (clamped to
// [1 minute, 1 hour]). sessionName becomes the session's name in its ARN
// (arn:aws:sts::ACCOUNT:assumed-role/CofferRotationFunction/NAME). It is
// coffer's own call (no Caller): only trusted code (the rotation engine)
// may reach it.
func (s *Service) IssueSession(ctx context.Context, account, sessionName, sessionPolicy string, ttl time.Duration) (*Credentials, error) {
	if !accountRE.MatchString(account) {
		return nil, fmt.Errorf("iam: issue session: account id %q must be 12 digits", account)
	}
	if len(sessionName) < 2 || len(sessionName) > 64 || !sessionNameRE.MatchString(sessionName) {
		return nil, fmt.Errorf("iam: issue session: session name %q must be 2-64 characters of [\\w+=,.@-]", sessionName)
	}
	if sessionPolicy == "" {
		return nil, errors.New("iam: issue session: a session policy is required")
	}
	if _, err := parsePolicy("session-policy", sessionPolicy, policy.Session); err != nil {
		return nil, fmt.Errorf("iam: issue session: %w", err)
	}
	ttl = min(max(ttl, minServiceSession), maxServiceSession)

	role, err := s.ensureServiceRole(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("iam: issue session: service role: %w", err)
	}
	now := s.clock()
	expires := now.Add(ttl).Truncate(time.Second)
	creds, err := s.newSession(ctx, role, sessionName, sessionPolicy, now, expires)
	if err != nil {
		return nil, fmt.Errorf("iam: issue session: seal: %w", err)
	}
	return &creds, nil
}

// ensureServiceRole returns the account's service role, creating it or
// restoring its path, trust policy and inline policy when they differ from
// coffer's. Other policies an operator attached or added stay: they cannot
// widen a session, which its session policy caps.
func (s *Service) ensureServiceRole(ctx context.Context, account string) (*storage.Entity, error) {
	good := func(e *entity) bool {
		return e.rec.Path == ServiceRolePath && e.doc.TrustPolicy == serviceRoleTrust &&
			e.doc.Inline[serviceRolePolicy] == serviceRoleInline
	}
	var role *entity
	err := s.store.View(ctx, func(tx storage.Tx) (err error) {
		role, err = loadEntity(tx, account, storage.EntityRole, ServiceRoleName)
		return err
	})
	switch {
	case err == nil && good(role):
		return role.rec, nil
	case err != nil && !isNoSuchEntity(err):
		return nil, err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Account(account); err != nil {
			return fmt.Errorf("account %s: %w", account, err)
		}
		e, err := loadEntity(tx, account, storage.EntityRole, ServiceRoleName)
		create := isNoSuchEntity(err)
		switch {
		case create:
			e = &entity{rec: &storage.Entity{
				Account: account, Kind: storage.EntityRole, Name: ServiceRoleName,
				ID: newID(storage.EntityRole), Path: ServiceRolePath, Created: s.clock(),
			}}
		case err != nil:
			return err
		}
		if e.doc.Description == "" {
			e.doc.Description = serviceRoleDesc
		}
		e.rec.Path = ServiceRolePath
		e.doc.TrustPolicy = serviceRoleTrust
		if e.doc.Inline == nil {
			e.doc.Inline = map[string]string{}
		}
		e.doc.Inline[serviceRolePolicy] = serviceRoleInline
		if err := e.encode(); err != nil {
			return err
		}
		role = e
		if create {
			err = tx.InsertEntity(e.rec)
		} else {
			err = tx.UpdateEntity(e.rec)
		}
		if err != nil {
			return err
		}
		return s.serviceRoleEvent(tx, e.rec, create)
	})
	if err != nil {
		return nil, err
	}
	s.forgetIdentities()
	return role.rec, nil
}
