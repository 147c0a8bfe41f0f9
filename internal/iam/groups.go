package iam

import (
	"context"
	"slices"
	"strings"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Groups. Memberships are kept on the user (doc.Groups), so adding a user
// to a group writes the user alone; the members of a group are the users
// that name it.

const maxGroupsPerUser = 10

func (s *Service) toGroup(e *entity) *Group {
	return &Group{Name: e.rec.Name, ID: e.rec.ID, ARN: s.entityARN(e.rec), Path: e.rec.Path, Created: e.rec.Created}
}

// CreateGroup creates an IAM group.
func (s *Service) CreateGroup(ctx context.Context, c Caller, name, path string) (*Group, error) {
	acct, path, err := createArgs(c, storage.EntityGroup, "groupName", name, path)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "CreateGroup", s.arn(acct, storage.EntityGroup, path, name), acct, nil); err != nil {
		return nil, err
	}
	e := &entity{rec: &storage.Entity{
		Account: acct, Kind: storage.EntityGroup, Name: name, ID: newID(storage.EntityGroup),
		Path: path, Created: s.clock(),
	}}
	if err := e.encode(); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, e.rec); err != nil {
		return nil, err
	}
	return s.toGroup(e), nil
}

// GetGroup returns the group and its users, ordered by name.
func (s *Service) GetGroup(ctx context.Context, c Caller, name string) (*Group, []*User, error) {
	if err := validateName(storage.EntityGroup, "groupName", name); err != nil {
		return nil, nil, err
	}
	g, err := s.target(ctx, c, "GetGroup", storage.EntityGroup, name)
	if err != nil {
		return nil, nil, err
	}
	var users []*User
	err = s.store.View(ctx, func(tx storage.Tx) error {
		members, err := groupMembers(tx, g.rec.Account, g.rec.Name)
		for _, u := range members {
			users = append(users, s.toUser(u))
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return s.toGroup(g), users, nil
}

// groupMembers returns the users of account that belong to the group.
func groupMembers(tx storage.Tx, account, group string) ([]*entity, error) {
	recs, err := tx.Entities(account, storage.EntityUser)
	if err != nil {
		return nil, err
	}
	var out []*entity
	for _, r := range recs {
		u, err := decodeEntity(r)
		if err != nil {
			return nil, err
		}
		if inGroup(u, group) {
			out = append(out, u)
		}
	}
	return out, nil
}

func inGroup(u *entity, group string) bool {
	return slices.ContainsFunc(u.doc.Groups, func(g string) bool { return strings.EqualFold(g, group) })
}

// ListGroups lists the account's groups under pathPrefix, ordered by name.
func (s *Service) ListGroups(ctx context.Context, c Caller, pathPrefix string) ([]*Group, error) {
	es, err := s.list(ctx, c, "ListGroups", storage.EntityGroup, pathPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*Group, 0, len(es))
	for _, e := range es {
		out = append(out, s.toGroup(e))
	}
	return out, nil
}

// ListGroupsForUser lists the groups a user belongs to, ordered by name.
func (s *Service) ListGroupsForUser(ctx context.Context, c Caller, userName string) ([]*Group, error) {
	if err := validateName(storage.EntityUser, "userName", userName); err != nil {
		return nil, err
	}
	u, err := s.target(ctx, c, "ListGroupsForUser", storage.EntityUser, userName)
	if err != nil {
		return nil, err
	}
	var out []*Group
	err = s.store.View(ctx, func(tx storage.Tx) error {
		for _, name := range u.doc.Groups {
			g, err := loadEntity(tx, u.rec.Account, storage.EntityGroup, name)
			if isNoSuchEntity(err) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, s.toGroup(g))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *Group) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, err
}

// DeleteGroup deletes a group without members and policies.
func (s *Service) DeleteGroup(ctx context.Context, c Caller, name string) error {
	if err := validateName(storage.EntityGroup, "groupName", name); err != nil {
		return err
	}
	g, err := s.target(ctx, c, "DeleteGroup", storage.EntityGroup, name)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		g, err := loadEntity(tx, g.rec.Account, storage.EntityGroup, name)
		if err != nil {
			return err
		}
		members, err := groupMembers(tx, g.rec.Account, g.rec.Name)
		if err != nil {
			return err
		}
		switch {
		case len(members) > 0:
			return deleteConflict("Cannot delete entity, must remove users from group first.")
		case len(g.doc.Inline) > 0:
			return deleteConflict("Cannot delete entity, must delete policies first.")
		case len(g.doc.Attached) > 0:
			return deleteConflict("Cannot delete entity, must detach all policies first.")
		}
		if err := tx.DeleteEntity(g.rec.Account, storage.EntityGroup, name); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, g.rec.Account, nil, s.entityResource(g.rec))
	})
	s.forgetIdentities()
	return err
}

// AddUserToGroup adds a user to a group (a no-op when it is a member).
func (s *Service) AddUserToGroup(ctx context.Context, c Caller, group, user string) error {
	return s.membership(ctx, c, "AddUserToGroup", group, user, func(u *entity, g *entity) error {
		if inGroup(u, g.rec.Name) {
			return nil
		}
		if len(u.doc.Groups) >= maxGroupsPerUser {
			return newError("LimitExceeded", "Cannot exceed quota for GroupsPerUser: %d", maxGroupsPerUser)
		}
		u.doc.Groups = append(u.doc.Groups, g.rec.Name)
		return nil
	})
}

// RemoveUserFromGroup removes a user from a group; a user that is not a
// member is NoSuchEntity.
func (s *Service) RemoveUserFromGroup(ctx context.Context, c Caller, group, user string) error {
	return s.membership(ctx, c, "RemoveUserFromGroup", group, user, func(u *entity, g *entity) error {
		if !inGroup(u, g.rec.Name) {
			return noSuchEntity(storage.EntityUser, user)
		}
		u.doc.Groups = slices.DeleteFunc(u.doc.Groups, func(n string) bool { return strings.EqualFold(n, g.rec.Name) })
		return nil
	})
}

func (s *Service) membership(ctx context.Context, c Caller, action, group, user string, fn func(u, g *entity) error) error {
	if err := validateName(storage.EntityGroup, "groupName", group); err != nil {
		return err
	}
	if err := validateName(storage.EntityUser, "userName", user); err != nil {
		return err
	}
	g, err := s.target(ctx, c, action, storage.EntityGroup, group)
	if err != nil {
		return err
	}
	return s.update(ctx, g.rec.Account, storage.EntityUser, user, func(tx storage.Tx, u *entity) error {
		g, err := loadEntity(tx, g.rec.Account, storage.EntityGroup, group)
		if err != nil {
			return err
		}
		return fn(u, g)
	})
}
