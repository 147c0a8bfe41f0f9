package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// callerAccount is the account a caller administers.
func callerAccount(c Caller) (string, error) {
	if c.Identity == nil {
		return "", &Error{Code: "AccessDenied", Message: "The request has no authenticated caller."}
	}
	return c.Identity.Principal.Account, nil
}

// createArgs checks what every Create call checks first: an authenticated
// caller, the new entity's name and its path. It returns the caller's
// account and the path, "" read as "/".
func createArgs(c Caller, kind storage.EntityKind, member, name, path string) (acct, normed string, err error) {
	if acct, err = callerAccount(c); err != nil {
		return "", "", err
	}
	if err := validateName(kind, member, name); err != nil {
		return "", "", err
	}
	if normed, err = normPath(path, "path"); err != nil {
		return "", "", err
	}
	return acct, normed, nil
}

// checkDescription checks a role's or a managed policy's description.
func checkDescription(d string) error {
	if len(d) > 1000 {
		return validationError(d, "description", "Member must have length less than or equal to 1000")
	}
	return nil
}

func (s *Service) toUser(e *entity) *User {
	return &User{
		Name: e.rec.Name, ID: e.rec.ID, ARN: s.entityARN(e.rec), Path: e.rec.Path,
		Created: e.rec.Created, Tags: append([]Tag(nil), e.doc.Tags...),
	}
}

// CreateUser creates an IAM user.
func (s *Service) CreateUser(ctx context.Context, c Caller, name, path string, tags []Tag) (*User, error) {
	acct, path, err := createArgs(c, storage.EntityUser, "userName", name, path)
	if err != nil {
		return nil, err
	}
	if err := validateTags(tags); err != nil {
		return nil, err
	}
	if err := s.authorize(c, "CreateUser", s.arn(acct, storage.EntityUser, path, name), acct, tagContext(tags)); err != nil {
		return nil, err
	}
	e := &entity{rec: &storage.Entity{
		Account: acct, Kind: storage.EntityUser, Name: name, ID: newID(storage.EntityUser),
		Path: path, Created: s.clock(),
	}, doc: doc{Tags: tags}}
	if err := e.encode(); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, e.rec); err != nil {
		return nil, err
	}
	return s.toUser(e), nil
}

// insert inserts an entity and commits the call's audit record with it; a
// taken name is EntityAlreadyExists.
func (s *Service) insert(ctx context.Context, rec *storage.Entity) error {
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.InsertEntity(rec); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, rec.Account, s.createElems(rec), s.entityResource(rec))
	})
	if errors.Is(err, storage.ErrConflict) {
		return alreadyExists(rec.Kind, rec.Name)
	}
	return err
}

// view reads one entity in a View.
func (s *Service) view(ctx context.Context, account string, kind storage.EntityKind, name string) (*entity, error) {
	var e *entity
	err := s.store.View(ctx, func(tx storage.Tx) (err error) {
		e, err = loadEntity(tx, account, kind, name)
		return err
	})
	return e, err
}

// target resolves an entity an administrative call names and authorizes
// the call on its ARN. It reads the entity first, to know its path; a
// missing entity is authorized on the path-less ARN and then reported as
// NoSuchEntity (IAM answers AccessDenied before NoSuchEntity).
func (s *Service) target(ctx context.Context, c Caller, action string, kind storage.EntityKind, name string) (*entity, error) {
	return s.targetWith(ctx, c, action, kind, name, nil)
}

// targetWith is target with extra request context for the authorization,
// such as the tags or tag keys a tagging call names.
func (s *Service) targetWith(ctx context.Context, c Caller, action string, kind storage.EntityKind, name string,
	extra func(*policy.Context)) (*entity, error) {
	acct, err := callerAccount(c)
	if err != nil {
		return nil, err
	}
	e, err := s.view(ctx, acct, kind, name)
	arn := s.arn(acct, kind, "/", name)
	if err == nil {
		arn = s.entityARN(e.rec)
	} else if !isNoSuchEntity(err) {
		return nil, err
	}
	if aerr := s.authorize(c, action, arn, acct, extra); aerr != nil {
		return nil, aerr
	}
	return e, err
}

// change authorizes action on the named entity, then runs fn on it in one
// transaction and saves it; every cached identity is dropped afterwards.
func (s *Service) change(ctx context.Context, c Caller, action string, kind storage.EntityKind, name string,
	fn func(tx storage.Tx, e *entity) error) error {
	e, err := s.target(ctx, c, action, kind, name)
	if err != nil {
		return err
	}
	return s.update(ctx, e.rec.Account, kind, name, fn)
}

// GetUser returns the named user; name "" means the calling user (for the
// root: the root "user", with the account id as its id and no name).
func (s *Service) GetUser(ctx context.Context, c Caller, name string) (*User, error) {
	acct, err := callerAccount(c)
	if err != nil {
		return nil, err
	}
	if name == "" {
		p := c.Identity.Principal
		switch p.Kind {
		case KindRoot:
			if err := s.authorize(c, "GetUser", p.ARN, acct, nil); err != nil {
				return nil, err
			}
			var a *storage.Account
			err := s.store.View(ctx, func(tx storage.Tx) (err error) {
				a, err = tx.Account(acct)
				return err
			})
			if err != nil {
				return nil, err
			}
			return &User{ID: acct, ARN: p.ARN, Created: a.Created}, nil
		case KindUser:
			name = p.Name
		default:
			return nil, newError("ValidationError", "Must specify userName when calling with non-User credentials")
		}
	} else if err := validateName(storage.EntityUser, "userName", name); err != nil {
		return nil, err
	}
	e, err := s.target(ctx, c, "GetUser", storage.EntityUser, name)
	if err != nil {
		return nil, err
	}
	return s.toUser(e), nil
}

// ListUsers lists the account's users whose path starts with pathPrefix,
// ordered by name.
func (s *Service) ListUsers(ctx context.Context, c Caller, pathPrefix string) ([]*User, error) {
	es, err := s.list(ctx, c, "ListUsers", storage.EntityUser, pathPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*User, 0, len(es))
	for _, e := range es {
		out = append(out, s.toUser(e))
	}
	return out, nil
}

// list authorizes a List call (on the ARN of the kind and path prefix,
// e.g. arn:aws:iam::ACCOUNT:user/) and returns the entities of kind under
// the prefix.
func (s *Service) list(ctx context.Context, c Caller, action string, kind storage.EntityKind, pathPrefix string) ([]*entity, error) {
	acct, err := callerAccount(c)
	if err != nil {
		return nil, err
	}
	if pathPrefix, err = normPathPrefix(pathPrefix); err != nil {
		return nil, err
	}
	if err := s.authorize(c, action, s.arn(acct, kind, pathPrefix, ""), acct, nil); err != nil {
		return nil, err
	}
	var out []*entity
	err = s.store.View(ctx, func(tx storage.Tx) error {
		recs, err := tx.Entities(acct, kind)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !strings.HasPrefix(r.Path, pathPrefix) {
				continue
			}
			e, err := decodeEntity(r)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// DeleteUser deletes a user that has no inline or attached policies, no
// group memberships and no access keys.
func (s *Service) DeleteUser(ctx context.Context, c Caller, name string) error {
	if err := validateName(storage.EntityUser, "userName", name); err != nil {
		return err
	}
	e, err := s.target(ctx, c, "DeleteUser", storage.EntityUser, name)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		u, err := loadEntity(tx, e.rec.Account, storage.EntityUser, name)
		if err != nil {
			return err
		}
		switch {
		case len(u.doc.Inline) > 0:
			return deleteConflict("Cannot delete entity, must delete policies first.")
		case len(u.doc.Attached) > 0:
			return deleteConflict("Cannot delete entity, must detach all policies first.")
		case len(u.doc.Groups) > 0:
			return deleteConflict("Cannot delete entity, must remove users from group first.")
		}
		keys, err := tx.AccessKeys(u.rec.Account, s.entityARN(u.rec))
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			return deleteConflict("Cannot delete entity, must delete access keys first.")
		}
		if err := tx.DeleteEntity(u.rec.Account, storage.EntityUser, name); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, u.rec.Account, nil, s.entityResource(u.rec))
	})
	s.forgetIdentities()
	return err
}

// TagUser adds or replaces tags of a user.
func (s *Service) TagUser(ctx context.Context, c Caller, name string, tags []Tag) error {
	return s.tag(ctx, c, "TagUser", storage.EntityUser, "userName", name, tags)
}

// UntagUser removes tags of a user by key (absent keys are ignored).
func (s *Service) UntagUser(ctx context.Context, c Caller, name string, keys []string) error {
	return s.untag(ctx, c, "UntagUser", storage.EntityUser, "userName", name, keys)
}

// ListUserTags returns a user's tags in the order they were added.
func (s *Service) ListUserTags(ctx context.Context, c Caller, name string) ([]Tag, error) {
	if err := validateName(storage.EntityUser, "userName", name); err != nil {
		return nil, err
	}
	e, err := s.target(ctx, c, "ListUserTags", storage.EntityUser, name)
	if err != nil {
		return nil, err
	}
	return nonNilTags(e.doc.Tags), nil
}

func nonNilTags(t []Tag) []Tag {
	if t == nil {
		return []Tag{}
	}
	return append([]Tag(nil), t...)
}

func (s *Service) tag(ctx context.Context, c Caller, action string, kind storage.EntityKind, member, name string, tags []Tag) error {
	if err := validateName(kind, member, name); err != nil {
		return err
	}
	if err := validateTags(tags); err != nil {
		return err
	}
	e, err := s.targetWith(ctx, c, action, kind, name, tagContext(tags))
	if err != nil {
		return err
	}
	return s.update(ctx, e.rec.Account, kind, name, func(_ storage.Tx, e *entity) error {
		merged, err := mergeTags(kind, e.doc.Tags, tags)
		if err != nil {
			return err
		}
		e.doc.Tags = merged
		return nil
	})
}

func (s *Service) untag(ctx context.Context, c Caller, action string, kind storage.EntityKind, member, name string, keys []string) error {
	if err := validateName(kind, member, name); err != nil {
		return err
	}
	e, err := s.targetWith(ctx, c, action, kind, name, tagKeysContext(keys))
	if err != nil {
		return err
	}
	return s.update(ctx, e.rec.Account, kind, name, func(_ storage.Tx, e *entity) error {
		e.doc.Tags = removeTags(e.doc.Tags, keys)
		return nil
	})
}

// update runs fn on the named entity in one transaction, saves it and
// commits the call's audit record with it, then drops every cached
// identity.
func (s *Service) update(ctx context.Context, account string, kind storage.EntityKind, name string, fn func(tx storage.Tx, e *entity) error) error {
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		e, err := loadEntity(tx, account, kind, name)
		if err != nil {
			return err
		}
		if err := fn(tx, e); err != nil {
			return err
		}
		if err := e.save(tx); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, account, nil, s.entityResource(e.rec))
	})
	s.forgetIdentities()
	return err
}
