package policy

// This file is the package's contract with its callers (internal/iam,
// internal/secrets, internal/cli): the exported names and signatures are
// fixed; the bodies live in the rest of the package.

import "time"

// Kind says where a policy document is attached, which decides what it may
// and must contain (Principal is required in resource and trust policies
// and refused in identity and session policies).
type Kind int

// The policy kinds.
const (
	Identity Kind = iota // inline or managed policy of a user, group or role
	Resource             // a secret's resource policy
	Trust                // a role's trust (assume-role) policy
	Session              // a session policy passed to AssumeRole
)

// MalformedError is a policy document refused by Parse. Message is the text
// AWS answers with (in a MalformedPolicyDocument error).
type MalformedError struct{ Message string }

func (e *MalformedError) Error() string { return "policy: " + e.Message }

// Principal is who makes a request, as a policy's Principal element and its
// global condition keys see it.
type Principal struct {
	ARN     string // arn:aws:iam::111122223333:user/alice, ...:root, arn:aws:sts::111122223333:assumed-role/R/sess
	Account string
	// RoleARN is set for an assumed-role session: the role's ARN, which a
	// Principal element may name instead of the session.
	RoleARN string
}

// Context holds the condition keys of one request. Keys compare
// case-insensitively, as AWS's do; every value is a string (numbers, dates,
// booleans and addresses in their policy text forms). A zero Context is
// empty and usable. Keys may be set explicitly (Set, Add) or supplied on
// demand by a source (SetSource); explicit keys win.
type Context struct {
	entries []ctxEntry
	buf     []string // backing store of the values Set copies (each slice capped)
	source  func(lowerKey string) ([]string, bool)
}

type ctxEntry struct {
	key    string // lower-cased
	values []string
}

// Request is one authorization question.
type Request struct {
	Principal Principal
	Action    string // service:Action, e.g. secretsmanager:GetSecretValue
	Resource  string // an ARN, or "*" for actions without a resource
	Context   *Context
	Now       time.Time // for aws:CurrentTime and aws:EpochTime when the Context lacks them
}

// Decision is what one policy, or a whole evaluation, says of a request.
type Decision int

// The decisions.
const (
	NotApplicable Decision = iota // no statement applies (implicit deny)
	Allow
	Deny
)

// Match names a statement that decided: the policy (by the name given to
// Parse), the statement's Sid (may be "") and its index in the Statement
// list, and its effect.
type Match struct {
	Policy string
	Sid    string
	Index  int
	Effect Decision
}

// Reason says why Authorize decided as it did; it picks the end of AWS's
// AccessDeniedException message.
type Reason int

// The reasons.
const (
	Allowed              Reason = iota
	NoIdentityAllow             // "because no identity-based policy allows the <action> action"
	NoResourceAllow             // "because no resource-based policy allows the <action> action"
	NoSessionAllow              // "because no session policy allows the <action> action"
	ExplicitDenyIdentity        // "with an explicit deny in an identity-based policy"
	ExplicitDenyResource        // "with an explicit deny in a resource-based policy"
	ExplicitDenySession         // "with an explicit deny in a session policy"
)

// Input is everything one authorization needs.
type Input struct {
	Request *Request
	// Identity holds the principal's identity-based policies.
	Identity []*Policy
	// Session is the session policy of temporary credentials, nil if none.
	Session *Policy
	// Resource is the resource's policy (a secret's resource policy, a
	// role's trust policy), nil if none.
	Resource *Policy
	// ResourceAccount owns the resource; "" for actions without one
	// (evaluated as the principal's own account).
	ResourceAccount string
	// Root is true when the principal is its account's root user, allowed
	// everything its own account's identity side can grant.
	Root bool
}

// Result is Authorize's answer.
type Result struct {
	Allowed bool
	Reason  Reason
	// Matched lists the statements that decided: the denying ones for a
	// deny, the allowing ones for an allow; empty for an implicit deny.
	// It may share memory with the evaluated policies: treat it as
	// read-only (copy it before changing an element).
	Matched []Match
}

// Finding is one problem ValidateResource reports (ValidateResourcePolicy's
// ValidationErrors).
type Finding struct {
	CheckName    string
	ErrorMessage string
}
