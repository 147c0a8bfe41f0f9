package policy

import "strings"

// restrictingKeys are the condition keys that, given concrete values, pin
// a statement to known accounts, organisations, networks or principals
// (what AWS's analysis accepts as "not public").
var restrictingKeys = map[string]bool{
	"aws:principalaccount": true, "aws:principalarn": true, "aws:principalorgid": true,
	"aws:principalorgpaths": true, "aws:sourceaccount": true, "aws:sourcearn": true,
	"aws:sourceowner": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:userid": true, "aws:sourceip": true,
}

// IsPublic reports whether a resource policy grants broad access: an Allow
// statement whose principal is "*" (or {"AWS":"*"}, or any NotPrincipal)
// and whose conditions do not pin the caller to specific accounts,
// organisations, principals, networks or VPCs. A grant to a named
// principal or account — even another account — is not public: AWS's own
// cross-account walkthrough attaches such a policy with BlockPublicPolicy.
// owner is the account that owns the secret; a wildcard grant pinned by
// aws:PrincipalAccount/aws:SourceAccount to owner alone is not public
// either.
func IsPublic(p *Policy, owner string) bool {
	if p == nil {
		return false
	}
	for i := range p.stmts {
		st := &p.stmts[i]
		if st.effect != Allow || !st.hasPrincipal {
			continue
		}
		broad := st.notPrincipal || st.principals.any
		if !broad {
			continue
		}
		if !restricted(st) {
			return true
		}
	}
	return false
}

// restricted reports whether some condition of st pins the caller down.
func restricted(st *statement) bool {
	for i := range st.conds {
		c := &st.conds[i]
		if !restrictingKeys[c.key] || c.ifExists || c.negated || c.set == setAll || len(c.values) == 0 {
			continue
		}
		switch c.family {
		case opString, opStringIgnoreCase, opStringLike, opArn:
			if c.key == "aws:sourceip" {
				continue
			}
			ok := true
			for _, v := range c.values {
				if !concreteValue(c.key, v) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		case opIP:
			if c.key != "aws:sourceip" {
				continue
			}
			ok := true
			for _, pfx := range c.prefixes {
				if !pfx.valid || tooWide(pfx) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// concreteValue reports whether a condition value pins something down: no
// policy variable, and no wildcard — except, for ARN keys, in the part
// after the account, which is still one account.
func concreteValue(key, v string) bool {
	if v == "" || strings.Contains(v, "${") {
		return false
	}
	if !strings.ContainsAny(v, "*?") {
		return true
	}
	if key != "aws:principalarn" && key != "aws:sourcearn" {
		return false
	}
	parts := strings.SplitN(v, ":", 6)
	return len(parts) == 6 && isAccountID(parts[4])
}

// tooWide reports an address range AWS treats as public anyway (IPv4
// wider than /8, IPv6 wider than /32).
func tooWide(p ipPrefix) bool {
	if p.addr.v4 {
		return p.bits < 8
	}
	return p.bits < 32
}

// Check names of ValidateResource's findings. AWS does not document its
// vocabulary; these name the three checks its documentation describes.
const (
	CheckBroadAccess = "BROAD_ACCESS"
	CheckLockout     = "LOCKOUT"
	CheckResource    = "RESOURCE_ARN"
)

// ValidateResource returns the findings of ValidateResourcePolicy for a
// resource policy attached to a secret owned by owner (owner may be ""
// when no secret is given): broad access (IsPublic), statements that
// would deny everyone the right to change the policy again (lockout), and
// Resource entries that can never name a secret of owner.
func ValidateResource(p *Policy, owner string) []Finding {
	var out []Finding
	if p == nil {
		return out
	}
	if IsPublic(p, owner) {
		out = append(out, Finding{CheckName: CheckBroadAccess,
			ErrorMessage: "This resource policy grants broad access to the secret. Restrict the principals or add a condition such as aws:PrincipalAccount or aws:PrincipalOrgID."})
	}
	for i := range p.stmts {
		st := &p.stmts[i]
		if st.effect == Deny && st.hasPrincipal && !st.notPrincipal && st.principals.any && len(st.conds) == 0 &&
			st.deniesAction("secretsmanager:PutResourcePolicy") && st.coversAnySecret(owner) {
			out = append(out, Finding{CheckName: CheckLockout,
				ErrorMessage: "This resource policy denies secretsmanager:PutResourcePolicy to every principal, which would lock everyone out of changing it."})
			break
		}
	}
	for i := range p.stmts {
		st := &p.stmts[i]
		if !st.hasResource || st.notResource {
			continue
		}
		for _, r := range st.resources {
			raw := r.whole.raw
			if raw == "*" || !strings.HasPrefix(raw, "arn:") {
				continue
			}
			parts := strings.SplitN(raw, ":", 6)
			if len(parts) == 6 && parts[2] != "*" && !strings.EqualFold(parts[2], "secretsmanager") {
				out = append(out, Finding{CheckName: CheckResource,
					ErrorMessage: "Resource " + raw + " is not a Secrets Manager secret; the statement has no effect in a secret's resource policy."})
				continue
			}
			if owner != "" && len(parts) == 6 && isAccountID(parts[4]) && parts[4] != owner {
				out = append(out, Finding{CheckName: CheckResource,
					ErrorMessage: "Resource " + raw + " belongs to another account; the statement has no effect in this secret's resource policy."})
			}
		}
	}
	return out
}

func (st *statement) deniesAction(action string) bool {
	var ev evalState
	ev.init(&Request{Action: action})
	return st.matchAction(&ev) != st.notAction
}

func (st *statement) coversAnySecret(owner string) bool {
	if !st.hasResource {
		return true
	}
	for _, r := range st.resources {
		if r.whole.any {
			return !st.notResource
		}
	}
	return false
}
