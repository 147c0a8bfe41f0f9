package policy

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
)

// Policy is a parsed, validated and compiled policy document. It is
// immutable (but for an internal cache of which statements each action
// reaches, filled as requests come) and safe for concurrent use.
type Policy struct {
	name    string
	kind    Kind
	version string
	stmts   []statement
	actions atomic.Pointer[actionIndex] // filled as requests come (see candidates)
}

// Principal match strengths, weakest first (see Authorize).
const (
	pmNone     = iota
	pmAccount  // the principal's account (id or :root ARN) is named
	pmRole     // the role of an assumed-role session is named
	pmWildcard // "*" or NotPrincipal
	pmDirect   // the principal's own ARN (user, session, root) is named
)

type statement struct {
	sid    string
	index  int
	effect Decision

	hasPrincipal bool
	notPrincipal bool
	principals   principalSet

	notAction bool
	actions   []actionPattern

	hasResource bool
	notResource bool
	resources   []arnPattern

	conds []condition

	// services lists the (lower-cased) services of the Action/NotAction
	// entries when each names a literal one; nil otherwise.
	services []string
	// self is the statement's Match, as a one-element list that results
	// share (read-only).
	self []Match
}

type principalSet struct {
	any       bool     // "*" or {"AWS":"*"}
	accounts  []string // account ids (from ids and :root ARNs)
	arns      []string // IAM/STS ARNs (root ARNs too)
	services  []string // lower-cased
	federated []string
	canonical []string
}

// Name returns the name given to Parse.
func (p *Policy) Name() string { return p.name }

// Version returns the document's Version element ("" when absent). IAM's
// managed-policy API refuses documents older than 2012-10-17 with
// "Policy document must be version 2012-10-17 or greater."; Parse accepts
// them and leaves that rule to callers that want it.
func (p *Policy) Version() string { return p.version }

// Kind returns the kind given to Parse.
func (p *Policy) Kind() Kind { return p.kind }

var validStatementKeys = map[string]bool{
	"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true,
	"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true,
}

var validPartitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true,
	"aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

func malformed(msg string) error { return &MalformedError{Message: msg} }

// Parse parses and validates a policy document of the given kind. name
// identifies it in Match (an inline policy's name, a managed policy's ARN,
// "resource-policy", ...). A refused document is a *MalformedError whose
// Message is AWS's text. The checks run in IAM's order, and the first
// failing one is reported: grammar, the legacy parser (case-sensitive
// Effect, dates, resource ARNs), unique Sids, actions present, resources
// present, resource ARN format, action prefixes, condition keys,
// principals.
func Parse(name, document string, kind Kind) (*Policy, error) {
	ps := &parser{kind: kind}
	p, err := ps.parse(document)
	if err != nil {
		return nil, err
	}
	p.name = name
	for i := range p.stmts {
		st := &p.stmts[i]
		st.self = []Match{{Policy: name, Sid: st.sid, Index: st.index, Effect: st.effect}}
	}
	return p, nil
}

type parser struct {
	kind Kind
}

// syntax is the error for a document that does not follow the grammar.
// Secrets Manager words it differently from IAM.
func (ps *parser) syntax() error {
	if ps.kind == Resource {
		return malformed("This policy has invalid syntax.")
	}
	return malformed("Syntax errors in policy.")
}

// rawStatement is a statement after the grammar check.
type rawStatement struct {
	sid          string
	hasSid       bool
	effect       string
	principal    any
	hasPrincipal bool
	notPrincipal bool
	actions      []string
	hasAction    bool
	notAction    bool
	resources    []string
	hasResource  bool
	notResource  bool
	conds        []rawCond
}

type rawCond struct {
	op, key string
	values  []string
}

func (ps *parser) parse(document string) (*Policy, error) {
	dec := json.NewDecoder(strings.NewReader(document))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, ps.syntax()
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ps.syntax()
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, ps.syntax()
	}
	p := &Policy{kind: ps.kind}
	for k, v := range top {
		switch k {
		case "Version":
			s, ok := v.(string)
			if !ok || (s != "2012-10-17" && s != "2008-10-17") {
				return nil, ps.syntax()
			}
			p.version = s
		case "Id":
			if _, ok := v.(string); !ok {
				return nil, ps.syntax()
			}
		case "Statement":
		default:
			return nil, ps.syntax()
		}
	}
	var list []any
	switch st := top["Statement"].(type) {
	case map[string]any:
		list = []any{st}
	case []any:
		list = st
	default:
		return nil, ps.syntax()
	}
	if len(list) == 0 {
		return nil, ps.syntax()
	}
	raws := make([]rawStatement, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, ps.syntax()
		}
		if err := ps.grammar(m, &raws[i]); err != nil {
			return nil, err
		}
	}
	vars := p.version == "2012-10-17"

	// Principal presence, by kind.
	for i := range raws {
		r := &raws[i]
		switch ps.kind {
		case Identity, Session:
			if r.hasPrincipal {
				return nil, malformed("Policy document should not specify a principal.")
			}
		default:
			if !r.hasPrincipal {
				return nil, malformed("Missing required field Principal")
			}
		}
	}

	// The legacy parser: case-sensitive Effect, date values, resource ARNs.
	formatErr := ""
	for i := range raws {
		r := &raws[i]
		if r.effect != "Allow" && r.effect != "Deny" {
			return nil, malformed("The policy failed legacy parsing")
		}
		for _, c := range r.conds {
			info, _, _, _ := parseOperator(c.op)
			if info.family < opDateEq || info.family > opDateGe {
				continue
			}
			for _, v := range c.values {
				if _, ok := parseDate(v); !ok {
					return nil, malformed("The policy failed legacy parsing")
				}
			}
		}
		for _, res := range r.resources {
			if e := resourceFormatError(res); e != "" {
				if formatErr == "" {
					formatErr = e
				}
				continue
			}
			if !legacyResourceOK(res) {
				return nil, malformed("The policy failed legacy parsing")
			}
		}
	}

	seen := map[string]bool{}
	for i := range raws {
		if sid := raws[i].sid; sid != "" {
			if seen[sid] {
				return nil, malformed("Statement IDs (SID) in a single policy must be unique.")
			}
			seen[sid] = true
		}
	}
	for i := range raws {
		if len(raws[i].actions) == 0 {
			return nil, malformed("Policy statement must contain actions.")
		}
	}
	for i := range raws {
		r := &raws[i]
		switch ps.kind {
		case Identity, Session:
			if len(r.resources) == 0 {
				return nil, malformed("Policy statement must contain resources.")
			}
		case Trust:
			if r.hasResource {
				if r.notResource {
					return nil, malformed("Has prohibited field NotResource")
				}
				return nil, malformed("Has prohibited field Resource")
			}
		case Resource:
			if r.hasResource && len(r.resources) == 0 {
				return nil, malformed("Policy statement must contain resources.")
			}
		}
	}
	if formatErr != "" {
		return nil, malformed(formatErr)
	}
	for i := range raws {
		for _, a := range raws[i].actions {
			if e := actionError(a); e != "" {
				return nil, malformed(e)
			}
		}
	}
	for i := range raws {
		for _, c := range raws[i].conds {
			if conditionKeyColons(c.key) {
				return nil, malformed("Condition can contain only one colon.")
			}
		}
	}
	if ps.kind == Identity || ps.kind == Trust {
		for i := range raws {
			for _, c := range raws[i].sid {
				if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
					return nil, malformed("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
				}
			}
		}
	}
	if ps.kind == Trust {
		for i := range raws {
			if raws[i].notAction {
				continue
			}
			for _, a := range raws[i].actions {
				l := strings.ToLower(a)
				if l != "*" && !strings.HasPrefix(l, "sts:") {
					return nil, malformed("AssumeRole policy may only specify STS AssumeRole actions.")
				}
			}
		}
	}

	p.stmts = make([]statement, len(raws))
	for i := range raws {
		r := &raws[i]
		st := &p.stmts[i]
		st.sid, st.index = r.sid, i
		st.effect = Allow
		if r.effect == "Deny" {
			st.effect = Deny
		}
		if r.hasPrincipal {
			st.hasPrincipal, st.notPrincipal = true, r.notPrincipal
			set, err := ps.principals(r.principal)
			if err != nil {
				return nil, err
			}
			st.principals = set
		}
		st.notAction = r.notAction
		for _, a := range r.actions {
			st.actions = append(st.actions, compileAction(a))
		}
		st.services = literalServices(st.actions)
		st.hasResource, st.notResource = r.hasResource, r.notResource
		for _, res := range r.resources {
			st.resources = append(st.resources, compileARN(res, vars))
		}
		for _, c := range r.conds {
			st.conds = append(st.conds, compileCondition(c.op, c.key, c.values, vars))
		}
	}
	return p, nil
}

// grammar checks one statement's elements and their JSON types.
func (ps *parser) grammar(m map[string]any, r *rawStatement) error {
	for k := range m {
		if !validStatementKeys[k] {
			return ps.syntax()
		}
	}
	if _, both := m["Action"]; both {
		if _, ok := m["NotAction"]; ok {
			return ps.syntax()
		}
	}
	if _, both := m["Resource"]; both {
		if _, ok := m["NotResource"]; ok {
			return ps.syntax()
		}
	}
	if _, both := m["Principal"]; both {
		if _, ok := m["NotPrincipal"]; ok {
			return ps.syntax()
		}
	}
	e, ok := m["Effect"].(string)
	if !ok || (!strings.EqualFold(e, "Allow") && !strings.EqualFold(e, "Deny")) {
		return ps.syntax()
	}
	r.effect = e
	if v, ok := m["Sid"]; ok {
		s, ok := v.(string)
		if !ok {
			return ps.syntax()
		}
		r.sid, r.hasSid = s, true
	}
	var err error
	for _, k := range []string{"Action", "NotAction"} {
		if v, ok := m[k]; ok {
			if r.actions, err = ps.stringList(v); err != nil {
				return err
			}
			r.hasAction, r.notAction = true, k == "NotAction"
		}
	}
	for _, k := range []string{"Resource", "NotResource"} {
		if v, ok := m[k]; ok {
			if r.resources, err = ps.stringList(v); err != nil {
				return err
			}
			r.hasResource, r.notResource = true, k == "NotResource"
		}
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		if v, ok := m[k]; ok {
			if err := ps.principalGrammar(v); err != nil {
				return err
			}
			r.principal, r.hasPrincipal, r.notPrincipal = v, true, k == "NotPrincipal"
		}
	}
	if v, ok := m["Condition"]; ok {
		block, ok := v.(map[string]any)
		if !ok {
			return ps.syntax()
		}
		for _, op := range slices.Sorted(maps.Keys(block)) {
			keys, ok := block[op].(map[string]any)
			if !ok {
				return ps.syntax()
			}
			if len(keys) == 0 {
				continue // AWS accepts an empty block, even for an unknown operator
			}
			if _, _, _, known := parseOperator(op); !known {
				return ps.syntax()
			}
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				vals, err := ps.conditionValues(keys[k])
				if err != nil {
					return err
				}
				r.conds = append(r.conds, rawCond{op: op, key: k, values: vals})
			}
		}
	}
	return nil
}

// stringList accepts a string or a list of strings.
func (ps *parser) stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, ps.syntax()
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, ps.syntax()
}

// conditionValues accepts a string, number or boolean, or a list of them.
func (ps *parser) conditionValues(v any) ([]string, error) {
	scalar := func(e any) (string, bool) {
		switch t := e.(type) {
		case string:
			return t, true
		case json.Number:
			return t.String(), true
		case bool:
			if t {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if l, ok := v.([]any); ok {
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := scalar(e)
			if !ok {
				return nil, ps.syntax()
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, ok := scalar(v)
	if !ok {
		return nil, ps.syntax()
	}
	return []string{s}, nil
}

var principalTypes = map[string]bool{"AWS": true, "Service": true, "Federated": true, "CanonicalUser": true}

func (ps *parser) principalGrammar(v any) error {
	switch t := v.(type) {
	case string:
		return nil // checked with the values
	case map[string]any:
		if len(t) == 0 {
			return ps.syntax()
		}
		for k, e := range t {
			if !principalTypes[k] {
				return ps.syntax()
			}
			l, err := ps.stringList(e)
			if err != nil {
				return err
			}
			if len(l) == 0 {
				return ps.syntax()
			}
		}
		return nil
	}
	return ps.syntax()
}

// invalidPrincipal is the error for a principal value AWS does not accept.
func (ps *parser) invalidPrincipal(typ, value string) error {
	if ps.kind == Resource {
		return malformed("This resource policy contains an unsupported principal.")
	}
	return malformed(`Invalid principal in policy: "` + typ + `":"` + value + `"`)
}

// principals validates and compiles a Principal/NotPrincipal value.
// Wildcards are refused anywhere but in the lone "*": AWS does not match
// patterns in the Principal element.
func (ps *parser) principals(v any) (principalSet, error) {
	var set principalSet
	if s, ok := v.(string); ok {
		if s != "*" {
			return set, ps.invalidPrincipal("AWS", s)
		}
		set.any = true
		return set, nil
	}
	m := v.(map[string]any)
	for _, typ := range slices.Sorted(maps.Keys(m)) {
		list, _ := ps.stringList(m[typ])
		for _, val := range list {
			switch typ {
			case "AWS":
				if val == "*" {
					set.any = true
					continue
				}
				acct, isARN, ok := parseAWSPrincipal(val)
				if !ok {
					return set, ps.invalidPrincipal(typ, val)
				}
				if isARN {
					set.arns = append(set.arns, val)
					if strings.HasSuffix(val, ":root") {
						set.accounts = append(set.accounts, acct)
					}
				} else {
					set.accounts = append(set.accounts, acct)
				}
			case "Service":
				if val == "*" {
					set.any = true
					continue
				}
				if val == "" || strings.ContainsAny(val, "*? ") {
					return set, ps.invalidPrincipal(typ, val)
				}
				set.services = append(set.services, strings.ToLower(val))
			case "Federated":
				if val == "" || strings.ContainsAny(val, "*? ") {
					return set, ps.invalidPrincipal(typ, val)
				}
				set.federated = append(set.federated, val)
			case "CanonicalUser":
				if val == "" || strings.ContainsAny(val, "*? ") {
					return set, ps.invalidPrincipal(typ, val)
				}
				set.canonical = append(set.canonical, val)
			}
		}
	}
	return set, nil
}

// parseAWSPrincipal checks an "AWS" principal: a 12-digit account id, or
// arn:PARTITION:iam::ACCOUNT:(root|user/...|role/...|federated-user/...)
// or arn:PARTITION:sts::ACCOUNT:(assumed-role/ROLE/SESSION|federated-user/...).
func parseAWSPrincipal(v string) (account string, isARN, ok bool) {
	if isAccountID(v) {
		return v, false, true
	}
	if strings.ContainsAny(v, "*? ") {
		return "", false, false
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !validPartitions[parts[1]] || parts[3] != "" || !isAccountID(parts[4]) {
		return "", false, false
	}
	res := parts[5]
	switch parts[2] {
	case "iam":
		switch {
		case res == "root":
		case strings.HasPrefix(res, "user/") && len(res) > len("user/"):
		case strings.HasPrefix(res, "role/") && len(res) > len("role/"):
		case strings.HasPrefix(res, "federated-user/") && len(res) > len("federated-user/"):
		default:
			return "", false, false
		}
	case "sts":
		switch {
		case strings.HasPrefix(res, "assumed-role/") && strings.Count(res, "/") >= 2 && !strings.HasSuffix(res, "/"):
		case strings.HasPrefix(res, "federated-user/") && len(res) > len("federated-user/"):
		default:
			return "", false, false
		}
	default:
		return "", false, false
	}
	return parts[4], true, true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// resourceFormatError returns IAM's message for a Resource entry that is
// not "*" and not an ARN it accepts, or "".
func resourceFormatError(res string) string {
	if res == "*" {
		return ""
	}
	_, rest, found := strings.Cut(res, ":")
	if !found {
		return "Resource " + res + ` must be in ARN format or "*".`
	}
	partition, rest, found := strings.Cut(rest, ":")
	if !validPartitions[partition] {
		parts := strings.Split(rest, ":")
		get := func(i int) string {
			if i == 0 && (parts[0] != "" || len(parts) > 1) {
				return parts[0]
			}
			if i > 0 && i < len(parts) {
				if i == 3 {
					return strings.Join(parts[3:], ":")
				}
				return parts[i]
			}
			return "*"
		}
		return `Partition "` + partition + `" is not valid for resource "arn:` + partition + ":" + get(0) + ":" + get(1) + ":" + get(2) + ":" + get(3) + `".`
	}
	if !found {
		return "Resource vendor must be fully qualified and cannot contain regexes."
	}
	service, rest, _ := strings.Cut(rest, ":")
	switch service {
	case "iam":
		if !strings.HasPrefix(rest, ":") {
			return "IAM resource " + res + " cannot contain region information."
		}
	case "s3":
		if !strings.HasPrefix(rest, ":") {
			return "Resource " + res + " can not contain region information."
		}
	}
	if service == "iam" {
		_, rest, _ = strings.Cut(rest, ":")
		_, rest, _ = strings.Cut(rest, ":")
		ok := false
		for _, p := range iamPaths {
			if strings.HasPrefix(rest, p) {
				ok = true
				break
			}
		}
		if !ok && rest != "*" {
			return `IAM resource path must either be "*" or start with ` + strings.Join(iamPaths, ", ") + "."
		}
	}
	return ""
}

var iamPaths = []string{"user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
	"server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/", "report/", "access-report/"}

// legacyResourceOK is IAM's legacy ARN check: an ARN with an empty
// segment must have all six segments, and the service must not be empty.
func legacyResourceOK(res string) bool {
	if res == "*" {
		return true
	}
	if strings.Count(res, ":") < 5 && strings.Contains(res, "::") {
		return false
	}
	parts := strings.Split(res, ":")
	return len(parts) > 2 && parts[2] != ""
}

// actionError returns IAM's message for a malformed Action entry, or "".
func actionError(a string) string {
	if a == "*" {
		return ""
	}
	vendor, rest, found := strings.Cut(a, ":")
	if !found {
		return "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	}
	if strings.Contains(rest, ":") {
		return "Actions/Condition can contain only one colon."
	}
	if vendor != "*" {
		for i := 0; i < len(vendor); i++ {
			c := vendor[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
				return "Vendor " + vendor + " is not valid"
			}
		}
	}
	return ""
}

// conditionKeyColons reports a condition key IAM refuses for its colons.
// A service key has one colon before its first slash, and anything
// (tag keys such as aws:ResourceTag/aws:cloudformation:stack-name) after
// it; a key without a service prefix (an OIDC provider's "host/path:sub")
// has at most one colon in all.
func conditionKeyColons(key string) bool {
	prefix, rest, hasSlash := strings.Cut(key, "/")
	switch strings.Count(prefix, ":") {
	case 0:
		return strings.Count(rest, ":") > 1
	case 1:
		return hasSlash && strings.HasSuffix(prefix, ":") && strings.Contains(rest, ":")
	}
	return true
}

// literalServices returns the distinct services of actions when each
// names a literal one, else nil.
func literalServices(actions []actionPattern) []string {
	var out []string
	for i := range actions {
		svc, ok := actions[i].literalService()
		if !ok {
			return nil
		}
		if !slices.Contains(out, svc) {
			out = append(out, svc)
		}
	}
	return out
}
