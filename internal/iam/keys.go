package iam

import (
	"context"
	"errors"
	"regexp"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Access keys of users (and of the root, for a root caller that names no
// user). The secret is sealed by the root key under the key id, as
// EnsureRoot seals the first root key.

const maxKeysPerUser = 2

var keyIDRE = regexp.MustCompile(`^\w{16,128}$`)

// keyOwner resolves the principal whose keys a call manages: userName, or
// the caller itself when userName is "" (a root or a user; a role session
// must name a user). It returns the owner's ARN and name ("" for the root).
func (s *Service) keyOwner(ctx context.Context, c Caller, action, userName string) (arn, name string, err error) {
	acct, err := callerAccount(c)
	if err != nil {
		return "", "", err
	}
	if userName == "" {
		p := c.Identity.Principal
		switch p.Kind {
		case KindRoot:
			if err := s.authorize(c, action, p.ARN, acct, nil); err != nil {
				return "", "", err
			}
			return p.ARN, "", nil
		case KindUser:
			userName = p.Name
		default:
			return "", "", newError("ValidationError", "Must specify userName when calling with non-User credentials")
		}
	} else if err := validateName(storage.EntityUser, "userName", userName); err != nil {
		return "", "", err
	}
	e, err := s.target(ctx, c, action, storage.EntityUser, userName)
	if err != nil {
		return "", "", err
	}
	return s.entityARN(e.rec), e.rec.Name, nil
}

func toAccessKey(k *storage.AccessKey, userName string) *AccessKey {
	status := "Active"
	if !k.Active {
		status = "Inactive"
	}
	return &AccessKey{UserName: userName, ID: k.ID, Status: status, Created: k.Created}
}

// CreateAccessKey makes a new access key (AKIA... and a 40-character
// secret) for a user, or for the calling user or root when userName is "".
// A principal has at most two keys. The answer is the only place the
// secret ever appears.
func (s *Service) CreateAccessKey(ctx context.Context, c Caller, userName string) (*AccessKey, error) {
	owner, name, err := s.keyOwner(ctx, c, "CreateAccessKey", userName)
	if err != nil {
		return nil, err
	}
	acct := c.Identity.Principal.Account
	keyID, secret := NewRootKey()
	sealed, err := s.root.Wrap(ctx, []byte(secret), keyAAD(keyID))
	if err != nil {
		return nil, err
	}
	k := &storage.AccessKey{
		ID: keyID, Account: acct, Principal: owner, SecretCiphertext: sealed, Active: true, Created: s.clock(),
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if name != "" {
			if _, err := loadEntity(tx, acct, storage.EntityUser, name); err != nil {
				return err
			}
		}
		have, err := tx.AccessKeys(acct, owner)
		if err != nil {
			return err
		}
		if len(have) >= maxKeysPerUser {
			return newError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
		}
		if err := tx.InsertAccessKey(k); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, acct, accessKeyElems(k, name), accessKeyResource(k))
	})
	if err != nil {
		return nil, err
	}
	out := toAccessKey(k, name)
	out.Secret = secret
	return out, nil
}

// ListAccessKeys lists the keys of a user (or of the caller), oldest first.
func (s *Service) ListAccessKeys(ctx context.Context, c Caller, userName string) ([]*AccessKey, error) {
	owner, name, err := s.keyOwner(ctx, c, "ListAccessKeys", userName)
	if err != nil {
		return nil, err
	}
	var keys []*storage.AccessKey
	err = s.store.View(ctx, func(tx storage.Tx) (err error) {
		keys, err = tx.AccessKeys(c.Identity.Principal.Account, owner)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*AccessKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, toAccessKey(k, name))
	}
	return out, nil
}

// UpdateAccessKey makes a key Active or Inactive. It takes effect on this
// node's next request and on every node within CacheTTL.
func (s *Service) UpdateAccessKey(ctx context.Context, c Caller, userName, keyID, status string) error {
	if status != "Active" && status != "Inactive" {
		return validationError(status, "status", "Member must satisfy enum value set: [Active, Inactive]")
	}
	return s.changeKey(ctx, c, "UpdateAccessKey", userName, keyID, func(tx storage.Tx, k *storage.AccessKey) error {
		k.Active = status == "Active"
		return tx.UpdateAccessKey(k)
	})
}

// DeleteAccessKey deletes a key; it stops working at once on this node and
// on every node within CacheTTL.
func (s *Service) DeleteAccessKey(ctx context.Context, c Caller, userName, keyID string) error {
	return s.changeKey(ctx, c, "DeleteAccessKey", userName, keyID, func(tx storage.Tx, k *storage.AccessKey) error {
		return tx.DeleteAccessKey(k.ID)
	})
}

func (s *Service) changeKey(ctx context.Context, c Caller, action, userName, keyID string, fn func(storage.Tx, *storage.AccessKey) error) error {
	if !keyIDRE.MatchString(keyID) {
		return validationError(keyID, "accessKeyId", `Member must satisfy regular expression pattern: [\w]+`)
	}
	owner, _, err := s.keyOwner(ctx, c, action, userName)
	if err != nil {
		return err
	}
	acct := c.Identity.Principal.Account
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		k, err := tx.AccessKey(keyID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && (k.Account != acct || k.Principal != owner)) {
			return newError("NoSuchEntity", "The Access Key with id %s cannot be found.", keyID)
		}
		if err != nil {
			return err
		}
		if err := fn(tx, k); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, acct, nil, accessKeyResource(k))
	})
	s.forgetKey(keyID)
	return err
}
