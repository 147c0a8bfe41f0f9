package policy

import (
	"slices"
	"strconv"
	"strings"
)

// principalMatch says how strongly the statement's Principal (or
// NotPrincipal) names the request's principal; pmNone when it does not.
func (st *statement) principalMatch(p *Principal) int {
	if !st.hasPrincipal {
		return pmWildcard
	}
	if st.notPrincipal {
		if st.principals.excludes(p) {
			return pmNone
		}
		return pmWildcard
	}
	return st.principals.match(p)
}

func (s *principalSet) match(p *Principal) int {
	best := pmNone
	if s.any {
		best = pmWildcard
	}
	for _, a := range s.arns {
		if p.ARN != "" && a == p.ARN {
			return pmDirect
		}
		if p.RoleARN != "" && a == p.RoleARN && best < pmRole {
			best = pmRole
		}
	}
	if best < pmAccount && p.Account != "" && slices.Contains(s.accounts, p.Account) {
		best = pmAccount
	}
	if s.namesOther(p.ARN) {
		return pmDirect
	}
	return best
}

// namesOther reports whether arn is one of the set's service (compared
// without case), federated or canonical-user principals.
func (s *principalSet) namesOther(arn string) bool {
	for _, v := range s.services {
		if strings.EqualFold(v, arn) {
			return true
		}
	}
	return slices.Contains(s.federated, arn) || slices.Contains(s.canonical, arn)
}

// excludes reports whether a NotPrincipal list leaves p out: "*" leaves
// everyone out; otherwise every layer AWS evaluates for p must be listed
// (AWS: "When you use NotPrincipal with Deny, you must also specify the
// account ARN of the not-denied principal"): the account, the principal's
// own ARN (unless it is the account's root), and the role of a session.
func (s *principalSet) excludes(p *Principal) bool {
	if s.any {
		return true
	}
	if p.Account == "" && p.ARN != "" {
		// a service or federated principal: its own entry is enough
		return s.namesOther(p.ARN)
	}
	if !slices.Contains(s.accounts, p.Account) {
		return false
	}
	if p.ARN != "" && !strings.HasSuffix(p.ARN, ":root") && !slices.Contains(s.arns, p.ARN) {
		return false
	}
	if p.RoleARN != "" && !slices.Contains(s.arns, p.RoleARN) {
		return false
	}
	return true
}

// applies reports whether the statement applies to the request, and how
// its principal matched.
func (st *statement) applies(ev *evalState) (bool, int) {
	if st.matchAction(ev) == st.notAction {
		return false, pmNone
	}
	return st.appliesBeyondAction(ev)
}

// appliesBeyondAction is applies for a statement whose Action (or
// NotAction) element admits the request's action.
func (st *statement) appliesBeyondAction(ev *evalState) (bool, int) {
	r := ev.r
	if st.hasResource {
		hit := false
		for i := range st.resources {
			if st.resources[i].match(r.Resource, ev) {
				hit = true
				break
			}
		}
		if hit == st.notResource {
			return false, pmNone
		}
	}
	pm := st.principalMatch(&r.Principal)
	if pm == pmNone {
		return false, pmNone
	}
	for i := range st.conds {
		if !st.conds[i].eval(ev) {
			return false, pmNone
		}
	}
	return true, pm
}

// matchAction reports whether one of the statement's Action (or
// NotAction) entries matches the request's action. When every entry names
// a literal service, an action of another service is rejected by its
// prefix alone.
func (st *statement) matchAction(ev *evalState) bool {
	if st.services != nil && ev.lowOK && ev.split {
		known := false
		for _, s := range st.services {
			if s == ev.lowSvc {
				known = true
				break
			}
		}
		if !known {
			return false
		}
	}
	for i := range st.actions {
		if st.actions[i].match(ev) {
			return true
		}
	}
	return false
}

// ref names an applying statement during an evaluation.
type ref struct {
	p  *Policy
	st int32
}

// refs collects applying statements, without allocating for the first
// few.
type refs struct {
	n     int
	small [16]ref
	more  []ref
}

func (rs *refs) add(p *Policy, st int) {
	if rs.n < len(rs.small) {
		rs.small[rs.n] = ref{p, int32(st)}
	} else {
		rs.more = append(rs.more, ref{p, int32(st)})
	}
	rs.n++
}

func (rs *refs) get(i int) ref {
	if i < len(rs.small) {
		return rs.small[i]
	}
	return rs.more[i-len(rs.small)]
}

// verdict is one policy's (or one group's) evaluation.
type verdict struct {
	deny, allow bool
	allowPM     int // strongest principal match among applying Allows
}

// eval runs every statement of p; applying statements are added to out.
// Only the statements whose Action element admits the request's action
// are looked at, when p's action index knows them.
func (p *Policy) eval(ev *evalState, v *verdict, out *refs) {
	if cand, ok := p.candidates(ev); ok {
		for _, i := range cand {
			st := &p.stmts[i]
			ok, pm := st.appliesBeyondAction(ev)
			if ok {
				p.record(int(i), pm, v, out)
			}
		}
		return
	}
	for i := range p.stmts {
		ok, pm := p.stmts[i].applies(ev)
		if ok {
			p.record(i, pm, v, out)
		}
	}
}

func (p *Policy) record(i, pm int, v *verdict, out *refs) {
	if p.stmts[i].effect == Deny {
		v.deny = true
	} else {
		v.allow = true
		if pm > v.allowPM {
			v.allowPM = pm
		}
	}
	out.add(p, i)
}

// actionIndex is a policy's cache of, per interned action (by id), the
// statements whose Action/NotAction element admits it, in order. Action
// matching depends on nothing else (actions take no policy variables), so
// the answer never changes. An index is immutable once published.
type actionIndex struct {
	ids   []int32
	cands [][]int32
}

// maxIndexedActions bounds a policy's action index (searched linearly).
const maxIndexedActions = 64

// candidates returns the statements of p whose Action element admits the
// request's action, from p's action index (adding the action to it); ok is
// false when the action is not indexed (the caller then tries every
// statement).
func (p *Policy) candidates(ev *evalState) ([]int32, bool) {
	id := ev.actionID
	if id < 0 {
		return nil, false
	}
	idx := p.actions.Load()
	if idx != nil {
		for i, have := range idx.ids {
			if have == id {
				return idx.cands[i], true
			}
		}
		if len(idx.ids) >= maxIndexedActions {
			return nil, false
		}
	}
	var cand []int32
	for i := range p.stmts {
		st := &p.stmts[i]
		if st.matchAction(ev) != st.notAction {
			cand = append(cand, int32(i))
		}
	}
	for {
		old := p.actions.Load()
		n := &actionIndex{}
		if old != nil {
			if len(old.ids) >= maxIndexedActions || slices.Contains(old.ids, id) {
				break
			}
			n.ids = append(old.ids[:len(old.ids):len(old.ids)], id)
			n.cands = append(old.cands[:len(old.cands):len(old.cands)], cand)
		} else {
			n.ids, n.cands = []int32{id}, [][]int32{cand}
		}
		if p.actions.CompareAndSwap(old, n) {
			break
		}
	}
	return cand, true
}

// Evaluate says what this policy alone says of r: Deny if any statement
// that applies denies, else Allow if one allows, else NotApplicable; and
// the deciding statements.
func (p *Policy) Evaluate(r *Request) (Decision, []Match) {
	var ev evalState
	ev.init(r)
	var v verdict
	var rs refs
	p.eval(&ev, &v, &rs)
	d := NotApplicable
	switch {
	case v.deny:
		d = Deny
	case v.allow:
		d = Allow
	default:
		return NotApplicable, nil
	}
	return d, rs.matches(d, func(int) bool { return true })
}

// matches lists the collected statements of the given effect for which
// want(i) holds (i their collection index): nil for none, the statement's
// own one-element list for one (no allocation), else a new list.
func (rs *refs) matches(effect Decision, want func(i int) bool) []Match {
	n, last := 0, -1
	for i := 0; i < rs.n; i++ {
		rf := rs.get(i)
		if want(i) && rf.p.stmts[rf.st].effect == effect {
			n++
			last = i
		}
	}
	switch n {
	case 0:
		return nil
	case 1:
		rf := rs.get(last)
		return rf.p.stmts[rf.st].self
	}
	out := make([]Match, 0, n)
	for i := 0; i < rs.n; i++ {
		rf := rs.get(i)
		if want(i) && rf.p.stmts[rf.st].effect == effect {
			out = append(out, rf.p.stmts[rf.st].self[0])
		}
	}
	return out
}

// Authorize runs AWS's evaluation logic over in (see the package
// documentation for the rules and the choices made).
func Authorize(in *Input) Result {
	r := in.Request
	var ev evalState
	ev.init(r)
	var rs refs
	var id, sess, res verdict
	idEnd := 0
	for _, p := range in.Identity {
		if p != nil {
			p.eval(&ev, &id, &rs)
		}
	}
	idEnd = rs.n
	if in.Session != nil {
		in.Session.eval(&ev, &sess, &rs)
	}
	sessEnd := rs.n
	if in.Resource != nil {
		in.Resource.eval(&ev, &res, &rs)
	}

	// group of a collected statement: 0 identity, 1 session, 2 resource
	group := func(i int) int {
		switch {
		case i < idEnd:
			return 0
		case i < sessEnd:
			return 1
		}
		return 2
	}
	collect := func(effect Decision, want [3]bool) []Match {
		return rs.matches(effect, func(i int) bool { return want[group(i)] })
	}

	if id.deny || sess.deny || res.deny {
		reason := ExplicitDenyResource
		switch {
		case id.deny:
			reason = ExplicitDenyIdentity
		case sess.deny:
			reason = ExplicitDenySession
		}
		return Result{Reason: reason, Matched: collect(Deny, [3]bool{true, true, true})}
	}

	identityOK := in.Root || id.allow
	sessionOK := in.Session == nil || sess.allow
	idSide := identityOK && sessionOK
	same := in.ResourceAccount == "" || in.ResourceAccount == r.Principal.Account
	trust := in.Resource != nil && in.Resource.kind == Trust

	var allowed, useID, useRes bool
	var reason Reason
	switch {
	case same && !trust:
		// Union of the identity side and the resource policy; how far a
		// resource-policy Allow reaches depends on whom it names.
		resOK := false
		if res.allow {
			switch res.allowPM {
			case pmDirect:
				resOK = true
			case pmRole, pmWildcard:
				resOK = sessionOK
			case pmAccount:
				resOK = idSide // the account delegates to IAM
			}
		}
		allowed, useID, useRes = idSide || resOK, idSide, resOK
		switch {
		case allowed:
		case identityOK && !sessionOK,
			res.allow && (res.allowPM == pmRole || res.allowPM == pmWildcard) && !sessionOK:
			reason = NoSessionAllow
		default:
			reason = NoIdentityAllow
		}
	case same && trust:
		// A role's trust policy must always allow; naming the account
		// delegates to the caller's identity policies.
		resOK := false
		if res.allow {
			switch res.allowPM {
			case pmDirect:
				resOK = true
			case pmRole, pmWildcard:
				resOK = sessionOK
			case pmAccount:
				resOK = idSide
			}
		}
		allowed, useRes = resOK, resOK
		useID = resOK && res.allowPM == pmAccount
		switch {
		case allowed:
		case !res.allow:
			reason = NoResourceAllow
		case res.allowPM == pmAccount && !identityOK:
			reason = NoIdentityAllow
		default:
			reason = NoSessionAllow
		}
	default:
		// Cross account: both sides must allow.
		allowed = idSide && res.allow
		useID, useRes = allowed, allowed
		switch {
		case allowed:
		case !identityOK:
			reason = NoIdentityAllow
		case !sessionOK:
			reason = NoSessionAllow
		default:
			reason = NoResourceAllow
		}
	}
	if !allowed {
		return Result{Reason: reason}
	}
	// The session policy decided too when it capped a resource-policy
	// grant that did not name the principal itself.
	useSess := useID || (useRes && in.Session != nil && res.allowPM != pmDirect)
	return Result{Allowed: true, Reason: Allowed, Matched: collect(Allow, [3]bool{useID, useSess, useRes})}
}

// Denial returns the tail of AWS's AccessDeniedException message for a
// denied result, e.g. "because no identity-based policy allows the
// secretsmanager:GetSecretValue action"; "" for an allowed one.
func (r Result) Denial(action string) string {
	switch r.Reason {
	case NoIdentityAllow:
		return "because no identity-based policy allows the " + action + " action"
	case NoResourceAllow:
		return "because no resource-based policy allows the " + action + " action"
	case NoSessionAllow:
		return "because no session policy allows the " + action + " action"
	case ExplicitDenyIdentity:
		return "with an explicit deny in an identity-based policy"
	case ExplicitDenyResource:
		return "with an explicit deny in a resource-based policy"
	case ExplicitDenySession:
		return "with an explicit deny in a session policy"
	}
	return ""
}

// String names the decision (for messages and test output).
func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "NotApplicable"
}

// String names the reason (for messages and test output).
func (r Reason) String() string {
	switch r {
	case Allowed:
		return "Allowed"
	case NoIdentityAllow:
		return "NoIdentityAllow"
	case NoResourceAllow:
		return "NoResourceAllow"
	case NoSessionAllow:
		return "NoSessionAllow"
	case ExplicitDenyIdentity:
		return "ExplicitDenyIdentity"
	case ExplicitDenyResource:
		return "ExplicitDenyResource"
	case ExplicitDenySession:
		return "ExplicitDenySession"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}
