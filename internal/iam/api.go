package iam

// This file is the contract between the IAM domain (this package) and its
// front doors (internal/awsapi's IAM and STS Query handlers, the CLI,
// internal/secrets). Every administrative method takes the authenticated
// caller first and authorizes it (iam:<Action> on the entity's ARN) before
// doing anything: only the account's root, or a principal whose identity
// policies allow the action, may administer.

import (
	"time"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Error is an IAM or STS error in the services' own vocabulary. Code is the
// AWS error code (NoSuchEntity, EntityAlreadyExists, DeleteConflict,
// LimitExceeded, MalformedPolicyDocument, InvalidInput, ValidationError,
// AccessDenied, ...); Message is the exact AWS text. The front door maps Code
// to an HTTP status.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return "iam: " + e.Code + ": " + e.Message }

// EntityKind names a kind of IAM entity: the methods that work on users,
// groups and roles alike take one. It is storage's type, re-exported so that
// front doors need not import package storage.
type EntityKind = storage.EntityKind

// The entity kinds the methods take.
const (
	EntityUser  = storage.EntityUser
	EntityGroup = storage.EntityGroup
	EntityRole  = storage.EntityRole
)

// Tag is an IAM tag.
type Tag struct{ Key, Value string }

// User is an IAM user.
type User struct {
	Name, ID, ARN, Path string
	Created             time.Time
	Tags                []Tag
}

// Group is an IAM group.
type Group struct {
	Name, ID, ARN, Path string
	Created             time.Time
}

// Role is an IAM role.
type Role struct {
	Name, ID, ARN, Path      string
	Description              string
	AssumeRolePolicyDocument string // as given (the wire URL-encodes it)
	MaxSessionDuration       int    // seconds, 3600 by default
	Created                  time.Time
	Tags                     []Tag
}

// RoleInput creates a role.
type RoleInput struct {
	Name, Path, Description  string
	AssumeRolePolicyDocument string
	MaxSessionDuration       int // 0: 3600
	Tags                     []Tag
}

// ManagedPolicy is a customer managed policy.
type ManagedPolicy struct {
	Name, ID, ARN, Path string
	Description         string
	DefaultVersionID    string // "v1", ...
	AttachmentCount     int
	Created, Updated    time.Time
	Tags                []Tag
}

// PolicyInput creates a managed policy.
type PolicyInput struct {
	Name, Path, Description, Document string
	Tags                              []Tag
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	VersionID string
	Document  string
	IsDefault bool
	Created   time.Time
}

// AttachedPolicy names a managed policy attached to a user, group or role.
type AttachedPolicy struct{ Name, ARN string }

// AccessKey describes an access key. Secret is set only in CreateAccessKey's
// answer and never printed.
type AccessKey struct {
	UserName string
	ID       string
	Status   string // "Active" or "Inactive"
	Created  time.Time
	Secret   string
}

// String implements fmt.Stringer without the secret.
func (k AccessKey) String() string { return "iam.AccessKey{" + k.ID + " REDACTED}" }

// GoString implements fmt.GoStringer without the secret.
func (k AccessKey) GoString() string { return k.String() }

// AssumeRoleInput is an sts:AssumeRole request.
type AssumeRoleInput struct {
	RoleARN         string
	RoleSessionName string
	ExternalID      string // "" when absent
	DurationSeconds int    // 0: 3600
	Policy          string // session policy, "" when absent
	// Request context of the call (aws:SourceIp, aws:SecureTransport, ...)
	// for the trust policy's and the caller's conditions.
	Context RequestContext
}

// Credentials are temporary credentials. They never print their secrets.
type Credentials struct {
	AccessKeyID     string // ASIA...
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// String implements fmt.Stringer without the secrets.
func (c Credentials) String() string { return "iam.Credentials{" + c.AccessKeyID + " REDACTED}" }

// GoString implements fmt.GoStringer without the secrets.
func (c Credentials) GoString() string { return c.String() }

// AssumeRoleOutput is sts:AssumeRole's answer.
type AssumeRoleOutput struct {
	Credentials      Credentials
	AssumedRoleARN   string // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
	AssumedRoleID    string // AROA...:SESSION
	PackedPolicySize int    // percent, when a session policy was given
}

// Caller is the authenticated principal of an administrative call and the
// context of its request.
type Caller struct {
	Identity *Identity
	Request  RequestContext
}

// RequestContext is what the front door knows of a request beyond the
// principal: it feeds the global condition keys.
type RequestContext struct {
	SourceIP        string // client IP as the server sees it
	SecureTransport bool
	UserAgent       string
	Region          string // aws:RequestedRegion
	Now             time.Time
}

// SimulateInput is iam:SimulatePrincipalPolicy's request.
type SimulateInput struct {
	PolicySourceARN string   // user, group or role ARN
	ActionNames     []string // e.g. secretsmanager:GetSecretValue
	ResourceARNs    []string // default ["*"]
	ResourcePolicy  string   // optional resource policy JSON
	ContextEntries  []ContextEntry
}

// ContextEntry is one condition-key value of a simulation.
type ContextEntry struct {
	Key    string
	Type   string // string, stringList, numeric, boolean, date, ip, ...
	Values []string
}

// SimulateResult is the decision for one (action, resource) pair.
type SimulateResult struct {
	Action, Resource string
	Decision         string // "allowed", "explicitDeny", "implicitDeny"
	// Matched names the statements that decided: the policy's name or ARN
	// and the statement's Sid or index.
	Matched []policy.Match
}

// Identity is everything authorization needs to know about a principal:
// who it is and which identity-based policies apply. It is built from the
// store (and cached) by Service.Identity.
type Identity struct {
	Principal Principal
	Root      bool // the account's root: allowed everything in its account
	// Policies are the identity-based policies (inline and attached, the
	// user's groups' too; for an assumed role the role's).
	Policies []*policy.Policy
	// Session is the session policy of temporary credentials; nil if none.
	Session *policy.Policy
	// Tags are the principal's tags (aws:PrincipalTag/<key>).
	Tags map[string]string
}
