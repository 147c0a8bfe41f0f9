package policy

// A deliberately simple reference evaluator, written from the AWS
// documentation's rules (and this package's documented choices) without
// sharing code with the package: its own wildcard matcher, its own
// condition logic, plain data instead of compiled policies. Slow is fine.

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"
)

type gCond struct {
	Op, Key string
	Values  []string
}

type gStmt struct {
	Sid          string
	Effect       string
	Principal    []string // nil: none; "*" or AWS principal strings
	NotPrincipal bool
	Actions      []string
	NotAction    bool
	Resources    []string // nil: no Resource element
	NotResource  bool
	Conds        []gCond
}

type gPolicy struct {
	Name    string
	Version string
	Stmts   []gStmt
}

func (g *gPolicy) JSON() string {
	doc := map[string]any{}
	if g.Version != "" {
		doc["Version"] = g.Version
	}
	var stmts []any
	for _, s := range g.Stmts {
		m := map[string]any{"Effect": s.Effect}
		if s.Sid != "" {
			m["Sid"] = s.Sid
		}
		if s.Principal != nil {
			var v any
			if len(s.Principal) == 1 && s.Principal[0] == "*" {
				v = "*"
			} else {
				v = map[string]any{"AWS": s.Principal}
			}
			if s.NotPrincipal {
				m["NotPrincipal"] = v
			} else {
				m["Principal"] = v
			}
		}
		if s.NotAction {
			m["NotAction"] = s.Actions
		} else {
			m["Action"] = s.Actions
		}
		if s.Resources != nil {
			if s.NotResource {
				m["NotResource"] = s.Resources
			} else {
				m["Resource"] = s.Resources
			}
		}
		if len(s.Conds) > 0 {
			c := map[string]any{}
			for _, cd := range s.Conds {
				block, _ := c[cd.Op].(map[string]any)
				if block == nil {
					block = map[string]any{}
					c[cd.Op] = block
				}
				block[cd.Key] = cd.Values
			}
			m["Condition"] = c
		}
		stmts = append(stmts, m)
	}
	doc["Statement"] = stmts
	b, _ := json.Marshal(doc)
	return string(b)
}

// refWild: * any run, ? one character; fold lower-cases both sides.
func refWild(p, s string, fold bool) bool {
	if fold {
		p, s = strings.ToLower(p), strings.ToLower(s)
	}
	return refWildRunes([]rune(p), []rune(s))
}

func refWildRunes(p, s []rune) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if refWildRunes(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return len(s) > 0 && refWildRunes(p[1:], s[1:])
	}
	return len(s) > 0 && p[0] == s[0] && refWildRunes(p[1:], s[1:])
}

type refReq struct {
	r   *Request
	ctx map[string][]string // lower-cased keys
}

func (q *refReq) get(key string) ([]string, bool) {
	key = strings.ToLower(key)
	if v, ok := q.ctx[key]; ok {
		return v, true
	}
	p := q.r.Principal
	switch key {
	case "aws:principalarn":
		if p.RoleARN != "" {
			return []string{p.RoleARN}, true
		}
		if p.ARN != "" {
			return []string{p.ARN}, true
		}
	case "aws:principalaccount":
		if p.Account != "" {
			return []string{p.Account}, true
		}
	case "aws:currenttime":
		if !q.r.Now.IsZero() {
			return []string{q.r.Now.UTC().Format(time.RFC3339)}, true
		}
	case "aws:epochtime":
		if !q.r.Now.IsZero() {
			return []string{strconv.FormatInt(q.r.Now.Unix(), 10)}, true
		}
	}
	return nil, false
}

// subst replaces ${key} variables (values in the test vocabulary never hold
// wildcards or colons, so textual substitution is exact); ok false when a
// key is absent.
func (q *refReq) subst(s string, version string) (string, bool) {
	if version != "2012-10-17" {
		return s, true
	}
	var out strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			out.WriteString(s)
			return out.String(), true
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			out.WriteString(s)
			return out.String(), true
		}
		out.WriteString(s[:i])
		body := s[i+2 : i+j]
		s = s[i+j+1:]
		key, def, hasDef := strings.Cut(body, ",")
		key = strings.TrimSpace(key)
		if v, ok := q.get(key); ok && len(v) > 0 {
			out.WriteString(v[0])
			continue
		}
		if hasDef {
			out.WriteString(strings.Trim(strings.TrimSpace(def), "'"))
			continue
		}
		return "", false
	}
}

func refARNMatch(p, s string) bool {
	pp := strings.SplitN(p, ":", 6)
	ss := strings.SplitN(s, ":", 6)
	if len(pp) < 6 {
		return refWild(p, s, false)
	}
	if len(ss) < 6 {
		return false
	}
	for i := range pp {
		if !refWild(pp[i], ss[i], false) {
			return false
		}
	}
	return true
}

func refDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// refPos is the positive form of an operator family on one pair.
func refPos(base string, cv, pv string, q *refReq, version string) bool {
	switch base {
	case "StringEquals", "StringNotEquals":
		v, ok := q.subst(pv, version)
		return ok && cv == v
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		v, ok := q.subst(pv, version)
		return ok && strings.EqualFold(cv, v)
	case "StringLike", "StringNotLike":
		v, ok := q.subst(pv, version)
		return ok && refWild(v, cv, false)
	case "ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals":
		v, ok := q.subst(pv, version)
		return ok && len(strings.SplitN(cv, ":", 6)) == 6 && refARNMatch(v, cv)
	case "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		a, err1 := strconv.ParseFloat(cv, 64)
		b, err2 := strconv.ParseFloat(pv, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		switch base {
		case "NumericLessThan":
			return a < b
		case "NumericLessThanEquals":
			return a <= b
		case "NumericGreaterThan":
			return a > b
		case "NumericGreaterThanEquals":
			return a >= b
		}
		return a == b
	case "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		a, ok1 := refDate(cv)
		b, ok2 := refDate(pv)
		if !ok1 || !ok2 {
			return false
		}
		switch base {
		case "DateLessThan":
			return a.Before(b)
		case "DateLessThanEquals":
			return !a.After(b)
		case "DateGreaterThan":
			return a.After(b)
		case "DateGreaterThanEquals":
			return !a.Before(b)
		}
		return a.Equal(b)
	case "Bool":
		pl := strings.ToLower(pv)
		return (pl == "true" || pl == "false") && strings.EqualFold(cv, pv)
	case "BinaryEquals":
		a, err1 := base64.StdEncoding.DecodeString(cv)
		b, err2 := base64.StdEncoding.DecodeString(pv)
		return err1 == nil && err2 == nil && string(a) == string(b)
	case "IpAddress", "NotIpAddress":
		ip := net.ParseIP(cv)
		if ip == nil {
			return false
		}
		if !strings.Contains(pv, "/") {
			if strings.Contains(pv, ":") {
				pv += "/128"
			} else {
				pv += "/32"
			}
		}
		_, n, err := net.ParseCIDR(pv)
		return err == nil && n.Contains(ip)
	}
	panic("unknown operator " + base)
}

func refCond(c gCond, q *refReq, version string) bool {
	op := c.Op
	set := ""
	if s, ok := strings.CutPrefix(op, "ForAllValues:"); ok {
		set, op = "all", s
	} else if s, ok := strings.CutPrefix(op, "ForAnyValue:"); ok {
		set, op = "any", s
	}
	vals, present := q.get(c.Key)
	if op == "Null" {
		for _, v := range c.Values {
			if (v == "true" && (!present || len(vals) == 0)) || (v == "false" && present && len(vals) > 0) {
				return true
			}
		}
		return false
	}
	ifExists := false
	if s, ok := strings.CutSuffix(op, "IfExists"); ok {
		op, ifExists = s, true
	}
	negated := strings.Contains(op, "Not")
	if !present || len(vals) == 0 {
		switch set {
		case "all":
			return true
		case "any":
			return ifExists
		}
		return ifExists || negated
	}
	matches := func(cv string) bool { // any policy value, positive form
		for _, pv := range c.Values {
			if refPos(op, cv, pv, q, version) {
				return true
			}
		}
		return false
	}
	holds := func(cv string) bool { return matches(cv) != negated }
	switch set {
	case "all":
		for _, cv := range vals {
			if !holds(cv) {
				return false
			}
		}
		return true
	case "any":
		for _, cv := range vals {
			if holds(cv) {
				return true
			}
		}
		return false
	}
	if negated {
		for _, cv := range vals {
			if matches(cv) {
				return false
			}
		}
		return true
	}
	for _, cv := range vals {
		if matches(cv) {
			return true
		}
	}
	return false
}

// refPrincipal: 0 none, 1 account, 2 role, 3 wildcard, 4 direct.
func refPrincipal(s gStmt, p Principal) int {
	if s.Principal == nil {
		return 3
	}
	listed := func(v string) bool {
		for _, e := range s.Principal {
			if e == v {
				return true
			}
		}
		return false
	}
	rootARN := "arn:aws:iam::" + p.Account + ":root"
	if s.NotPrincipal {
		if listed("*") {
			return 0
		}
		excluded := (listed(p.Account) || listed(rootARN)) &&
			(p.ARN == rootARN || listed(p.ARN)) &&
			(p.RoleARN == "" || listed(p.RoleARN))
		if excluded {
			return 0
		}
		return 3
	}
	switch {
	case listed(p.ARN):
		return 4
	case listed("*"):
		return 3
	case p.RoleARN != "" && listed(p.RoleARN):
		return 2
	case listed(p.Account) || listed(rootARN):
		return 1
	}
	return 0
}

// refApplies reports whether a statement applies, and its principal match.
func refApplies(s gStmt, version string, q *refReq) (bool, int) {
	act := false
	for _, a := range s.Actions {
		if refWild(a, q.r.Action, true) {
			act = true
		}
	}
	if act == s.NotAction {
		return false, 0
	}
	if s.Resources != nil {
		res := false
		for _, r := range s.Resources {
			if v, ok := q.subst(r, version); ok && refARNMatch(v, q.r.Resource) {
				res = true
			}
		}
		if res == s.NotResource {
			return false, 0
		}
	}
	pm := refPrincipal(s, q.r.Principal)
	if pm == 0 {
		return false, 0
	}
	for _, c := range s.Conds {
		if !refCond(c, q, version) {
			return false, 0
		}
	}
	return true, pm
}

type refVerdict struct {
	deny, allow bool
	pm          int
}

func refEval(ps []*gPolicy, q *refReq) refVerdict {
	var v refVerdict
	for _, p := range ps {
		for _, s := range p.Stmts {
			ok, pm := refApplies(s, p.Version, q)
			if !ok {
				continue
			}
			if s.Effect == "Deny" {
				v.deny = true
			} else {
				v.allow = true
				if pm > v.pm {
					v.pm = pm
				}
			}
		}
	}
	return v
}

type refInput struct {
	req             *Request
	identity        []*gPolicy
	session         *gPolicy
	resource        *gPolicy
	resourceAccount string
	root            bool
	// lazy holds the keys the request's Context supplies through its
	// source (lower-cased), under the ones Set explicitly.
	lazy map[string][]string
}

// refAuthorize: the rules of the package documentation, written plainly.
func refAuthorize(in refInput) (bool, Reason) {
	q := &refReq{r: in.req, ctx: map[string][]string{}}
	for k, v := range in.lazy {
		q.ctx[k] = v
	}
	if c := in.req.Context; c != nil {
		for _, e := range c.entries {
			q.ctx[e.key] = e.values
		}
	}
	id := refEval(in.identity, q)
	var sess, res refVerdict
	if in.session != nil {
		sess = refEval([]*gPolicy{in.session}, q)
	}
	if in.resource != nil {
		res = refEval([]*gPolicy{in.resource}, q)
	}
	if id.deny {
		return false, ExplicitDenyIdentity
	}
	if sess.deny {
		return false, ExplicitDenySession
	}
	if res.deny {
		return false, ExplicitDenyResource
	}
	identityAllows := in.root || id.allow
	sessionAllows := in.session == nil || sess.allow
	sameAccount := in.resourceAccount == "" || in.resourceAccount == in.req.Principal.Account
	if !sameAccount {
		if !identityAllows {
			return false, NoIdentityAllow
		}
		if !sessionAllows {
			return false, NoSessionAllow
		}
		if !res.allow {
			return false, NoResourceAllow
		}
		return true, Allowed
	}
	if identityAllows && sessionAllows {
		return true, Allowed
	}
	if res.allow && res.pm == 4 {
		return true, Allowed
	}
	if res.allow && (res.pm == 2 || res.pm == 3) {
		if sessionAllows {
			return true, Allowed
		}
		return false, NoSessionAllow
	}
	if identityAllows {
		return false, NoSessionAllow
	}
	return false, NoIdentityAllow
}
