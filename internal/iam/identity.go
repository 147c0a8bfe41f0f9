package iam

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Identity returns the principal's identity for authorization: the root of
// an account (Root, no policies), a user's policies (its inline and
// attached policies and those of its groups) and tags, or a role session's
// policies (the role's inline and attached policies), the role's tags and
// the session policy.
//
// A principal without a Kind has no policies.
// A user or role that no longer exists, or a role deleted and created
// again under the same name (a new role id), has no policies: its sessions
// keep authenticating until they expire but are allowed nothing.
//
// Identities are cached per principal for at most CacheTTL; a hit is a map
// read under a read lock.
func (s *Service) Identity(ctx context.Context, p Principal) (*Identity, error) {
	k := identityKey{arn: p.ARN}
	if p.Kind == KindAssumedRole {
		k.keyID = p.KeyID
	}
	now := s.now()
	s.mu.RLock()
	e, ok := s.ids[k]
	s.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.id, nil
	}
	id, err := s.loadIdentity(ctx, p)
	if err != nil {
		return nil, err
	}
	s.putIdentity(k, identityEntry{id: id, expires: now.Add(CacheTTL)}, now)
	return id, nil
}

func (s *Service) loadIdentity(ctx context.Context, p Principal) (*Identity, error) {
	if p.Kind == KindRoot {
		// Nothing to read: the root is allowed everything in its account.
		return &Identity{Principal: p, Root: true}, nil
	}
	id := &Identity{Principal: p}
	var docs []namedDoc
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		switch p.Kind {
		case KindUser:
			docs, id.Tags, err = s.principalPolicies(tx, storage.EntityUser, p.Account, p.Name, p.UserID)
		case KindAssumedRole:
			docs, id.Tags, err = s.principalPolicies(tx, storage.EntityRole, p.Account, p.Name, roleIDOf(p.UserID))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		pol, err := policy.Parse(d.name, d.doc, policy.Identity)
		if err != nil {
			// Stored documents were parsed when written; a document the
			// parser refuses today is left out rather than failing every
			// request of the principal.
			continue
		}
		id.Policies = append(id.Policies, pol)
	}
	if p.sessionPolicy != "" {
		if pol, err := policy.Parse("session-policy", p.sessionPolicy, policy.Session); err == nil {
			id.Session = pol
		} else {
			// A session policy was checked at AssumeRole; should it fail
			// now, the session is allowed nothing rather than everything.
			id.Session = denyAll
		}
	}
	return id, nil
}

// denyAll is a session policy that allows nothing.
var denyAll = func() *policy.Policy {
	p, err := policy.Parse("session-policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, policy.Session)
	if err != nil {
		return nil
	}
	return p
}()

// roleIDOf returns the role id of a session's aws:userid ("AROA...:SESSION").
func roleIDOf(userID string) string {
	id, _, _ := strings.Cut(userID, ":")
	return id
}

// namedDoc is a policy document with the name it is evaluated under: an
// inline policy's name, or a managed policy's ARN.
type namedDoc struct{ name, doc string }

// principalPolicies collects the documents of the policies of a user or
// role (identityPolicies) and its tags. A missing entity, or one whose id
// is not wantID (when set), has none.
func (s *Service) principalPolicies(tx storage.Tx, kind storage.EntityKind, account, name, wantID string) ([]namedDoc, map[string]string, error) {
	e, err := loadEntity(tx, account, kind, name)
	if isNoSuchEntity(err) || (err == nil && wantID != "" && e.rec.ID != wantID) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	docs, err := s.identityPolicies(tx, e)
	if err != nil {
		return nil, nil, err
	}
	return docs, tagMap(e.doc.Tags), nil
}

// identityPolicies collects the documents of e's inline and attached
// policies and, for a user, of its groups' (a group that is gone is
// skipped).
func (s *Service) identityPolicies(tx storage.Tx, e *entity) ([]namedDoc, error) {
	docs, err := s.entityPolicies(tx, e)
	if err != nil {
		return nil, err
	}
	for _, gname := range e.doc.Groups {
		g, err := loadEntity(tx, e.rec.Account, storage.EntityGroup, gname)
		if isNoSuchEntity(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		more, err := s.entityPolicies(tx, g)
		if err != nil {
			return nil, err
		}
		docs = append(docs, more...)
	}
	return docs, nil
}

// entityPolicies returns the inline policies of e (by name) and the default
// versions of its attached managed policies (by ARN).
func (s *Service) entityPolicies(tx storage.Tx, e *entity) ([]namedDoc, error) {
	var docs []namedDoc
	for _, name := range sortedKeys(e.doc.Inline) {
		docs = append(docs, namedDoc{name, e.doc.Inline[name]})
	}
	for _, arn := range e.doc.Attached {
		p, err := s.loadPolicyByARN(tx, e.rec.Account, arn)
		if err != nil {
			if isNoSuchEntity(err) {
				continue
			}
			return nil, err
		}
		if v := p.version(p.doc.DefaultVersion); v != nil {
			docs = append(docs, namedDoc{arn, v.Document})
		}
	}
	return docs, nil
}

func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func isNoSuchEntity(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == "NoSuchEntity"
}

// PolicyPrincipal returns the principal as the policy engine sees it.
func (id *Identity) PolicyPrincipal() policy.Principal {
	return policy.Principal{ARN: id.Principal.ARN, Account: id.Principal.Account, RoleARN: id.Principal.RoleARN}
}

// Fill makes the global condition keys that describe the principal and the
// request available to c, computed only when a policy asks for them:
// aws:PrincipalArn (a role session's role ARN), aws:PrincipalAccount,
// aws:PrincipalType, aws:userid, aws:username (users), aws:PrincipalTag/<key>,
// aws:SourceIp, aws:SecureTransport, aws:CurrentTime, aws:EpochTime,
// aws:RequestedRegion and aws:UserAgent (those of rc that are set). Callers
// Set their service's own keys (aws:ResourceTag/..., secretsmanager:...);
// keys Set explicitly win.
func (id *Identity) Fill(c *policy.Context, rc RequestContext) {
	c.SetSource(func(key string) ([]string, bool) { return id.ConditionKey(key, &rc) })
}

// ConditionKey answers one lower-cased global condition key of Fill's list
// for a request of this identity; false when the key is absent. Callers
// with keys of their own chain it behind them in a policy.Context source.
func (id *Identity) ConditionKey(key string, rc *RequestContext) ([]string, bool) {
	p := &id.Principal
	one := func(v string) ([]string, bool) { return []string{v}, true }
	switch key {
	case "aws:principalarn":
		if p.Kind == KindAssumedRole {
			return one(p.RoleARN)
		}
		return one(p.ARN)
	case "aws:principaltype":
		switch p.Kind {
		case KindRoot:
			return one("Account")
		case KindUser:
			return one("User")
		case KindAssumedRole:
			return one("AssumedRole")
		}
	case "aws:username":
		if p.Kind == KindUser {
			return one(p.Name)
		}
	case "aws:principalaccount":
		return one(p.Account)
	case "aws:userid":
		if p.UserID != "" {
			return one(p.UserID)
		}
	case "aws:sourceip":
		if rc.SourceIP != "" {
			return one(rc.SourceIP)
		}
	case "aws:securetransport":
		return one(strconv.FormatBool(rc.SecureTransport))
	case "aws:currenttime":
		if !rc.Now.IsZero() {
			return one(rc.Now.UTC().Format(time.RFC3339))
		}
	case "aws:epochtime":
		if !rc.Now.IsZero() {
			return one(strconv.FormatInt(rc.Now.Unix(), 10))
		}
	case "aws:requestedregion":
		if rc.Region != "" {
			return one(rc.Region)
		}
	case "aws:useragent":
		if rc.UserAgent != "" {
			return one(rc.UserAgent)
		}
	default:
		if tag, ok := strings.CutPrefix(key, "aws:principaltag/"); ok {
			// Tag keys compare case-insensitively, as condition keys do.
			for k, v := range id.Tags {
				if strings.EqualFold(k, tag) {
					return one(v)
				}
			}
		}
	}
	return nil, false
}
