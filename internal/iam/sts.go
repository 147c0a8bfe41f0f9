package iam

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"time"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// STS role sessions.
//
// A session is not stored. Its session token is the session itself —
// access key id, secret, account, role (ARN, id, name), session name,
// issue and expiry times and the session policy — serialized as JSON,
// sealed by the root key (AEAD) with additional data binding it to its
// purpose and to its access key id, then base64-encoded. Any node that
// shares the root key verifies a token without reading the store; a token
// altered in any byte, or presented with another key id, does not open.

const (
	minSessionDuration   = 900
	chainedRoleMax       = 3600
	maxSessionPolicySize = 2048
)

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

// session is what a session token carries.
type session struct {
	KeyID       string `json:"k"`
	Secret      string `json:"s"`
	Account     string `json:"a"`
	RoleARN     string `json:"r"`
	RoleID      string `json:"ri"`
	RoleName    string `json:"rn"`
	SessionName string `json:"sn"`
	IssuedMS    int64  `json:"iat"`
	ExpiresMS   int64  `json:"exp"`
	Policy      string `json:"p,omitempty"`
}

// sessionAAD binds a sealed session to its purpose and its access key id.
func sessionAAD(keyID string) []byte { return []byte("coffer/sts/session-token/v1/" + keyID) }

// assumedRoleARN is the ARN of a role session.
func (s *Service) assumedRoleARN(account, role, sessionName string) string {
	return "arn:" + s.partition + ":sts::" + account + ":assumed-role/" + role + "/" + sessionName
}

// parseRoleARN splits a role ARN of this partition.
func (s *Service) parseRoleARN(arn string) (account, path, name string, ok bool) {
	account, path, name, ok = s.splitARN(arn, "role")
	if !ok || len(name) > nameMax[storage.EntityRole] {
		return "", "", "", false
	}
	return account, path, name, true
}

func checkAssumeRoleInput(in *AssumeRoleInput) error {
	switch {
	case len(in.RoleARN) < 20:
		return validationError(in.RoleARN, "roleArn", "Member must have length greater than or equal to 20")
	case len(in.RoleARN) > 2048:
		return validationError(in.RoleARN, "roleArn", "Member must have length less than or equal to 2048")
	case len(in.RoleSessionName) < 2:
		return validationError(in.RoleSessionName, "roleSessionName", "Member must have length greater than or equal to 2")
	case len(in.RoleSessionName) > 64:
		return validationError(in.RoleSessionName, "roleSessionName", "Member must have length less than or equal to 64")
	case !sessionNameRE.MatchString(in.RoleSessionName):
		return validationError(in.RoleSessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	case in.DurationSeconds != 0 && in.DurationSeconds < minSessionDuration:
		return validationError(strconv.Itoa(in.DurationSeconds), "durationSeconds", "Member must have value greater than or equal to 900")
	case in.DurationSeconds > maxRoleSession:
		return validationError(strconv.Itoa(in.DurationSeconds), "durationSeconds", "Member must have value less than or equal to 43200")
	}
	if in.ExternalID != "" {
		switch {
		case len(in.ExternalID) < 2:
			return validationError(in.ExternalID, "externalId", "Member must have length greater than or equal to 2")
		case len(in.ExternalID) > 1224:
			return validationError(in.ExternalID, "externalId", "Member must have length less than or equal to 1224")
		case !externalIDRE.MatchString(in.ExternalID):
			return validationError(in.ExternalID, "externalId", `Member must satisfy regular expression pattern: [\w+=,.@:\/-]*`)
		}
	}
	if len(in.Policy) > maxSessionPolicySize {
		return validationError(in.Policy, "policy", "Member must have length less than or equal to 2048")
	}
	return nil
}

// AssumeRole issues temporary credentials for a role when the role's trust
// policy (evaluated as the role's resource policy) and the caller's
// identity policies allow sts:AssumeRole on it: both must allow across
// accounts; in one account the evaluation follows policy.Authorize. The
// account root may not assume roles, as in AWS. A role that does not exist
// is refused with the same AccessDenied as a role that does not trust the
// caller.
func (s *Service) AssumeRole(ctx context.Context, c Caller, in AssumeRoleInput) (*AssumeRoleOutput, error) {
	if _, err := callerAccount(c); err != nil {
		return nil, err
	}
	id := c.Identity
	if id.Root {
		return nil, &Error{Code: "AccessDenied", Message: "Roles may not be assumed by root accounts."}
	}
	if err := checkAssumeRoleInput(&in); err != nil {
		return nil, err
	}
	var sessionPolicy *policy.Policy
	if in.Policy != "" {
		var err error
		if sessionPolicy, err = parsePolicy("session-policy", in.Policy, policy.Session); err != nil {
			return nil, err
		}
	}
	denied := &Error{Code: "AccessDenied", Message: "User: " + id.Principal.ARN +
		" is not authorized to perform: sts:AssumeRole on resource: " + in.RoleARN}

	acct, path, name, ok := s.parseRoleARN(in.RoleARN)
	if !ok {
		return nil, denied
	}
	var role *entity
	err := s.store.View(ctx, func(tx storage.Tx) (err error) {
		role, err = loadEntity(tx, acct, storage.EntityRole, name)
		return err
	})
	if isNoSuchEntity(err) || (err == nil && role.rec.Path != path) {
		return nil, denied
	}
	if err != nil {
		return nil, err
	}
	trust, err := policy.Parse("trust-policy", role.doc.TrustPolicy, policy.Trust)
	if err != nil {
		return nil, denied // a trust policy stored before the parser tightened trusts no one
	}

	var pc policy.Context
	id.Fill(&pc, in.Context)
	pc.Set("sts:RoleSessionName", in.RoleSessionName)
	if in.ExternalID != "" {
		pc.Set("sts:ExternalId", in.ExternalID)
	}
	roleARN := s.entityARN(role.rec)
	res := policy.Authorize(&policy.Input{
		Request: &policy.Request{
			Principal: id.PolicyPrincipal(),
			Action:    "sts:AssumeRole",
			Resource:  roleARN,
			Context:   &pc,
			Now:       in.Context.Now,
		},
		Identity:        id.Policies,
		Session:         id.Session,
		Resource:        trust,
		ResourceAccount: acct,
	})
	if !res.Allowed {
		return nil, denied
	}

	maxDuration := role.doc.MaxSessionDuration
	if maxDuration == 0 {
		maxDuration = defaultSessionDuration
	}
	duration := in.DurationSeconds
	if duration == 0 {
		duration = defaultSessionDuration
	}
	if id.Principal.Kind == KindAssumedRole && duration > chainedRoleMax {
		return nil, newError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if duration > maxDuration {
		return nil, newError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	now := s.clock()
	expires := now.Add(time.Duration(duration) * time.Second).Truncate(time.Second)
	creds, err := s.newSession(ctx, role.rec, in.RoleSessionName, in.Policy, now, expires)
	if err != nil {
		return nil, err
	}
	out := &AssumeRoleOutput{
		Credentials:    creds,
		AssumedRoleARN: s.assumedRoleARN(acct, role.rec.Name, in.RoleSessionName),
		AssumedRoleID:  role.rec.ID + ":" + in.RoleSessionName,
	}
	if sessionPolicy != nil {
		out.PackedPolicySize = (policySize(in.Policy)*100 + maxSessionPolicySize - 1) / maxSessionPolicySize
	}
	return out, nil
}

// newSession issues temporary credentials of a session of role named
// sessionName, capped by sessionPolicy ("" for none), issued at now and
// valid until expires: a new ASIA... key id and secret, and the session
// sealed by the root key as the session token.
func (s *Service) newSession(ctx context.Context, role *storage.Entity, sessionName, sessionPolicy string, now, expires time.Time) (Credentials, error) {
	keyID := "ASIA" + randomString(16, idChars)
	secret := randomString(40, secretChars)
	sess := session{
		KeyID: keyID, Secret: secret, Account: role.Account, RoleARN: s.entityARN(role), RoleID: role.ID,
		RoleName: role.Name, SessionName: sessionName,
		IssuedMS: now.UnixMilli(), ExpiresMS: expires.UnixMilli(), Policy: sessionPolicy,
	}
	payload, err := json.Marshal(&sess)
	if err != nil {
		return Credentials{}, err
	}
	sealed, err := s.root.Wrap(ctx, payload, sessionAAD(keyID))
	clear(payload)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{
		AccessKeyID: keyID, SecretAccessKey: secret,
		SessionToken: base64.StdEncoding.EncodeToString(sealed), Expiration: expires,
	}, nil
}

// openSession verifies a session token presented with keyID and returns its
// credential.
func (s *Service) openSession(ctx context.Context, keyID, token string, now time.Time) (*Credential, error) {
	if token == "" || len(token) > 16384 {
		return nil, ErrUnknownKey
	}
	sealed, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return nil, ErrUnknownKey
	}
	payload, err := s.root.Unwrap(ctx, sealed, sessionAAD(keyID))
	if err != nil {
		return nil, ErrUnknownKey // forged, altered, or another key's token
	}
	var sess session
	err = json.Unmarshal(payload, &sess)
	clear(payload)
	if err != nil || sess.KeyID != keyID {
		return nil, ErrUnknownKey
	}
	expires := time.UnixMilli(sess.ExpiresMS)
	if !now.Before(expires) {
		return nil, ErrExpiredToken
	}
	c := &Credential{
		Principal: Principal{
			Account: sess.Account, ARN: s.assumedRoleARN(sess.Account, sess.RoleName, sess.SessionName),
			KeyID: keyID, Kind: KindAssumedRole, Name: sess.RoleName, UserID: sess.RoleID + ":" + sess.SessionName,
			RoleARN: sess.RoleARN, SessionName: sess.SessionName, sessionPolicy: sess.Policy,
		},
		secret:  sess.Secret,
		Expires: expires.UTC(),
	}
	cacheUntil := now.Add(CacheTTL)
	if expires.Before(cacheUntil) {
		cacheUntil = expires
	}
	s.putCred(keyID, credEntry{cred: c, token: token, expires: cacheUntil}, now)
	return c, nil
}
