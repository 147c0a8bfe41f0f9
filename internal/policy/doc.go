// Package policy is coffer's IAM policy language: it parses and validates
// policy documents (identity, resource, trust and session policies) with
// AWS's MalformedPolicyDocument texts, compiles them once, and evaluates
// requests against them with AWS's evaluation logic (Authorize). It also
// answers PutResourcePolicy's BlockPublicPolicy question (IsPublic) and
// ValidateResourcePolicy's findings (ValidateResource).
//
// The package is pure: standard library only, no I/O, no logging. Any
// package of ours may import it (internal/iam, internal/secrets,
// internal/cli, ...); it imports none of ours.
//
// # Matching
//
// Action entries match case-insensitively with * and ? wildcards. Resource
// entries match case-sensitively and segment by segment like AWS: the
// partition, service, region and account each on their own (a wildcard
// there does not cross a colon), the resource part with * free to cross
// colons. An entry with fewer than six colon-separated parts ("*",
// "arn:aws:*") is matched against the whole string.
//
// Policy variables (${aws:username}, ${aws:PrincipalTag/team}, any
// context key, ${*} ${?} ${$}, and ${key, 'default'}) apply in Resource
// entries and in the values of String* and Arn* conditions, and only with
// Version 2012-10-17; elsewhere the text is literal. A variable is
// replaced by the key's first value, taken literally (wildcards in it do
// not act). A variable whose key is absent and has no default makes that
// entry not match.
//
// # Conditions
//
// Values of one key are OR'ed; keys and operators are AND'ed. Negated
// operators (StringNotEquals, StringNotLike, NumericNotEquals,
// DateNotEquals, NotIpAddress, ArnNotEquals, ArnNotLike,
// StringNotEqualsIgnoreCase) hold when no context value matches any
// policy value (the complement of the positive operator; a context value
// that does not parse matches nothing, so the negated form holds for it).
// An absent key (or one with no values) makes a positive operator false
// and a negated one true; ...IfExists makes it true; ForAllValues: is true
// and ForAnyValue: false for an absent key or empty set (ForAnyValue:
// with IfExists: true). Null: "true" holds when the key is absent, "false"
// when present. Condition keys compare case-insensitively; operator names
// are case-sensitive, as IAM's grammar has them. aws:CurrentTime,
// aws:EpochTime (from Request.Now), aws:PrincipalArn (the role's ARN for
// an assumed-role session, as AWS does) and aws:PrincipalAccount are
// supplied when the Context lacks them.
//
// # Principals
//
// "*" and {"AWS":"*"} match anyone; an account id or arn:…:iam::ACCT:root
// matches every principal of that account; a user, root or assumed-role
// session ARN matches that principal; a role ARN matches the role itself
// and its sessions (Principal.RoleARN). Service, Federated and
// CanonicalUser entries match a Principal whose ARN is that name. AWS does
// not match wildcards inside Principal ARNs; Parse refuses them (a
// MalformedError, "Invalid principal in policy: ..." for trust policies,
// "This resource policy contains an unsupported principal." for resource
// policies). NotPrincipal leaves a principal out only when every layer AWS
// evaluates for it is listed: its account, its own ARN (unless it is the
// root) and, for a session, its role.
//
// # Authorize
//
// An explicit Deny in any policy wins (the reason names the identity-based
// policies first, then the session policy, then the resource policy; all
// denying statements are in Matched). Otherwise:
//
//   - Same account (ResourceAccount is "" or the principal's): allowed when
//     the identity side allows — an identity policy allows (or Root) and
//     the session policy, if any, allows — or when the resource policy
//     allows. How far a resource-policy Allow reaches depends on whom it
//     names: the principal's own ARN (user, session, root): allowed even
//     without identity or session allow; the role of the session, "*" or a
//     NotPrincipal: allowed if the session policy (if any) allows; the
//     account (id or :root): that only delegates to IAM, so it adds
//     nothing and the identity side must allow (AWS documents the account
//     principal as delegating to the account's IAM policies; recorded
//     experiments agree that a same-account account-principal grant alone
//     is refused).
//   - A trust policy (Resource of kind Trust) in the same account must
//     itself allow, with the same reach rules (naming the account needs
//     an identity-policy allow too).
//   - Cross account: the identity side and the resource policy must both
//     allow. Root is allowed everything on its own account's identity side
//     but still needs the resource policy across accounts.
//
// Denial reasons for implicit denies: the session policy when it is what
// cut the grant off, else no identity-based policy (same account), else
// (cross account) whichever side is missing, identity side first.
//
// # Parsing choices
//
// Version may be 2012-10-17, 2008-10-17 or absent (Policy.Version lets
// IAM's managed-policy API refuse the older ones with its own text). The
// grammar error is "Syntax errors in policy." (IAM) or "This policy has
// invalid syntax." (Resource kind, Secrets Manager's recorded text).
// IAM's legacy parser rules (case-sensitive Effect, valid dates, ARN
// shape), unique Sids, actions and resources present, ARN formats,
// action vendor prefixes and single colons are checked in IAM's order.
// Identity and session policies refuse Principal ("Policy document should
// not specify a principal."); resource and trust policies require it
// ("Missing required field Principal"). Trust policies refuse Resource
// ("Has prohibited field Resource") and non-STS actions; resource
// policies may omit Resource (it then means this secret).
package policy
