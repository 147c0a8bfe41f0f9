package policy

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Token kinds of a compiled pattern.
const (
	tLit  uint8 = iota // literal text
	tStar              // * : any run of characters
	tQ                 // ? : exactly one character
	tVar               // ${key} or ${key, 'default'}: the key's value, literally
)

type tok struct {
	kind   uint8
	hasDef bool
	s      string // tLit: the text (lower-cased for folding patterns); tVar: the lower-cased key
	def    string // tVar: the default
}

// pattern is a compiled Action, Resource segment or condition value.
type pattern struct {
	raw    string
	any    bool // the lone "*" (with wildcards on)
	lit    bool // no wildcard and no variable: compare s directly
	prefix bool // literal text then one *: s is the literal prefix
	s      string
	toks   []tok
}

// compilePattern compiles text. wild: * and ? are wildcards; vars: ${...}
// are policy variables; fold: the pattern matches case-insensitively (its
// literal text is stored lower-cased).
func compilePattern(text string, wild, vars, fold bool) pattern {
	toks := tokenize(text, wild, vars)
	if fold {
		for i := range toks {
			if toks[i].kind == tLit {
				toks[i].s = strings.ToLower(toks[i].s)
			}
		}
	}
	p := patternOf(toks)
	p.raw = text
	return p
}

// patternOf classifies compiled tokens into the cheapest form that
// matches the same strings.
func patternOf(toks []tok) pattern {
	var p pattern
	switch {
	case len(toks) == 0:
		p.lit = true
	case len(toks) == 1 && toks[0].kind == tStar:
		p.any = true
	case len(toks) == 1 && toks[0].kind == tLit:
		p.lit, p.s = true, toks[0].s
	case len(toks) == 2 && toks[0].kind == tLit && toks[1].kind == tStar:
		p.prefix, p.s, p.toks = true, toks[0].s, toks
	default:
		p.toks = toks
	}
	return p
}

// tokenize splits text into tokens, merging adjacent literal text.
func tokenize(text string, wild, vars bool) []tok {
	var toks []tok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, tok{kind: tLit, s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case wild && c == '*':
			flush()
			if n := len(toks); n == 0 || toks[n-1].kind != tStar {
				toks = append(toks, tok{kind: tStar})
			}
			i++
		case wild && c == '?':
			flush()
			toks = append(toks, tok{kind: tQ})
			i++
		case vars && c == '$' && i+1 < len(text) && text[i+1] == '{':
			end := strings.IndexByte(text[i+2:], '}')
			if end < 0 {
				lit.WriteByte(c)
				i++
				continue
			}
			body := text[i+2 : i+2+end]
			i += 2 + end + 1
			switch body {
			case "*", "?", "$":
				lit.WriteString(body)
				continue
			}
			t, ok := parseVariable(body)
			if !ok {
				lit.WriteString("${" + body + "}")
				continue
			}
			flush()
			toks = append(toks, t)
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return toks
}

// parseVariable parses the inside of ${...}: a key, optionally followed by
// a comma and a single-quoted default.
func parseVariable(body string) (tok, bool) {
	key, def, hasDef := strings.Cut(body, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " '") {
		return tok{}, false
	}
	t := tok{kind: tVar, s: strings.ToLower(key)}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return tok{}, false
		}
		t.hasDef, t.def = true, def[1:len(def)-1]
	}
	return t, true
}

// hasVars reports whether the pattern refers to a policy variable.
func (p *pattern) hasVars() bool {
	for _, t := range p.toks {
		if t.kind == tVar {
			return true
		}
	}
	return false
}

// hasWild reports whether the pattern holds a * or ? wildcard.
func (p *pattern) hasWild() bool {
	if p.any {
		return true
	}
	for _, t := range p.toks {
		if t.kind == tStar || t.kind == tQ {
			return true
		}
	}
	return false
}

// match reports whether s matches the pattern.
func (p *pattern) match(s string, fold bool, ev *evalState) bool {
	switch {
	case p.any:
		return true
	case p.lit:
		if fold {
			return equalFold(s, p.s)
		}
		// the first byte rejects most strings without a call
		return len(s) == len(p.s) && (s == "" || s[0] == p.s[0]) && s == p.s
	case p.prefix:
		if fold {
			_, ok := prefixFold(s, p.s, true)
			return ok
		}
		return len(s) >= len(p.s) && s[0] == p.s[0] && s[:len(p.s)] == p.s
	}
	return globMatch(p.toks, s, fold, ev)
}

// globMatch matches s against tokens. Literal and variable tokens have a
// fixed length, so backtracking to the last * is enough (the classic
// linear-space glob algorithm); the star only advances by whole runes.
func globMatch(toks []tok, s string, fold bool, ev *evalState) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for {
		if ti < len(toks) {
			t := &toks[ti]
			switch t.kind {
			case tStar:
				starTi, starSi = ti, si
				ti++
				continue
			case tQ:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			default:
				lit := t.s
				if t.kind == tVar {
					v, ok := ev.variable(t)
					if !ok {
						return false
					}
					lit = v
				}
				if n, ok := prefixFold(s[si:], lit, fold); ok {
					si += n
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		si, ti = starSi, starTi+1
	}
}

// prefixFold reports whether s starts with lit (case-insensitively when
// fold; lit's letters may be of either case) and how many bytes of s that
// prefix takes.
func prefixFold(s, lit string, fold bool) (int, bool) {
	if !fold {
		if strings.HasPrefix(s, lit) {
			return len(lit), true
		}
		return 0, false
	}
	i, j := 0, 0
	for j < len(lit) {
		if i >= len(s) {
			return 0, false
		}
		a, b := s[i], lit[j]
		if a == b {
			i++
			j++
			continue
		}
		if a|b < utf8.RuneSelf {
			if lowerTab[a] != lowerTab[b] {
				return 0, false
			}
			i++
			j++
			continue
		}
		ra, na := utf8.DecodeRuneInString(s[i:])
		rb, nb := utf8.DecodeRuneInString(lit[j:])
		if ra != rb && unicode.ToLower(ra) != unicode.ToLower(rb) {
			return 0, false
		}
		i += na
		j += nb
	}
	return i, true
}

func equalFold(s, lit string) bool {
	n, ok := prefixFold(s, lit, true)
	return ok && n == len(s)
}

// lowerTab lower-cases ASCII bytes.
var lowerTab = func() (t [128]byte) {
	for i := range t {
		c := byte(i)
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

// actionPattern is a compiled Action entry, split at its colon so that
// the service prefix and the action name are matched each on their own
// (a * in one does not cross the colon).
type actionPattern struct {
	whole     pattern // used when the entry or the action has no colon ("*")
	split     bool
	svc, name pattern
	// ascii: the entry is ASCII, so that against an ASCII action lowered
	// once per evaluation (evalState.low) its lower-cased literals compare
	// exactly, without case folding.
	ascii bool
}

func compileAction(text string) actionPattern {
	a := actionPattern{whole: compilePattern(text, true, false, true), ascii: isASCII(text)}
	if svc, name, ok := strings.Cut(text, ":"); ok && !a.whole.any {
		a.split = true
		a.svc = compilePattern(svc, true, false, true)
		a.name = compilePattern(name, true, false, true)
	}
	return a
}

// match matches the request's action (ev.action; see evalState for its
// lowered and split forms). The action name, which rejects most entries
// (the statement has checked the service already when it could), is
// compared first.
func (a *actionPattern) match(ev *evalState) bool {
	if ev.lowOK && a.ascii {
		if !a.split || !ev.split {
			return a.whole.match(ev.low, false, ev)
		}
		return a.name.match(ev.lowName, false, ev) && a.svc.match(ev.lowSvc, false, ev)
	}
	if !a.split || !ev.split {
		return a.whole.match(ev.action, true, ev)
	}
	return a.svc.match(ev.svc, true, ev) && a.name.match(ev.name, true, ev)
}

// literalService returns the entry's service prefix when it is literal
// ASCII text (lower-cased), so that only actions of that service can
// match it.
func (a *actionPattern) literalService() (string, bool) {
	if !a.split || !a.ascii || !a.svc.lit {
		return "", false
	}
	return a.svc.s, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// arnPattern is a compiled Resource/NotResource entry or ArnLike value.
// An ARN pattern is matched the way AWS does: partition, service, region
// and account each on their own (a wildcard there does not cross a colon),
// then the resource part, where * may cross colons. A pattern with fewer
// than six colon-separated parts (such as "*") is matched against the
// whole string.
type arnPattern struct {
	whole pattern
	segs  []pattern // 6 when segmented
	// form is the cheapest equivalent test: arnAny, arnExact (no wildcard
	// and no variable: the entry as a whole must equal the ARN, segments
	// and all), arnPrefix (literal text then a final *: the ARN must start
	// with fix, which settles the segments too, the five colons being in
	// fix), or arnGeneral.
	form uint8
	fix  string
}

// arnPattern forms.
const (
	arnGeneral uint8 = iota
	arnAny
	arnExact
	arnPrefix
)

func compileARN(text string, vars bool) arnPattern {
	a := arnPattern{whole: compilePattern(text, true, vars, false)}
	switch {
	case a.whole.any:
		a.form = arnAny
		return a
	case a.whole.lit:
		a.form, a.fix = arnExact, a.whole.s
	case a.whole.prefix:
		a.form, a.fix = arnPrefix, a.whole.s
	}
	toks := tokenize(text, true, vars)
	var segs [][]tok
	var cur []tok
	for _, t := range toks {
		if t.kind != tLit || len(segs) == 5 {
			cur = append(cur, t)
			continue
		}
		rest := t.s
		for len(segs) < 5 {
			i := strings.IndexByte(rest, ':')
			if i < 0 {
				break
			}
			if i > 0 {
				cur = append(cur, tok{kind: tLit, s: rest[:i]})
			}
			segs = append(segs, cur)
			cur = nil
			rest = rest[i+1:]
		}
		if rest != "" {
			cur = append(cur, tok{kind: tLit, s: rest})
		}
	}
	if len(segs) < 5 {
		return a
	}
	segs = append(segs, cur)
	a.segs = make([]pattern, 6)
	for i, st := range segs {
		a.segs[i] = patternOf(st)
	}
	return a
}

// match reports whether the ARN (or "*") s matches.
func (a *arnPattern) match(s string, ev *evalState) bool {
	switch a.form {
	case arnAny:
		return true
	case arnExact:
		return s == a.fix
	case arnPrefix:
		return strings.HasPrefix(s, a.fix)
	}
	if a.segs == nil {
		return a.whole.match(s, false, ev)
	}
	rest := s
	for i := 0; i < 5; i++ {
		if sg := &a.segs[i]; sg.lit {
			// A literal segment has no colon: the ARN's segment is it
			// when the ARN starts with it and a colon.
			n := len(sg.s)
			if len(rest) <= n || rest[n] != ':' || rest[:n] != sg.s {
				return false
			}
			rest = rest[n+1:]
			continue
		}
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return false
		}
		if !a.segs[i].match(rest[:j], false, ev) {
			return false
		}
		rest = rest[j+1:]
	}
	return a.segs[5].match(rest, false, ev)
}

// evalState carries one request through an evaluation without allocating.
type evalState struct {
	r      *Request
	action string // r.Action
	svc    string // the action's service prefix
	name   string // the action's name
	split  bool   // the action has a colon
	// low is the action lower-cased once for the evaluation, and lowSvc
	// and lowName its parts, when lowOK: the action is ASCII (other
	// actions take the case-folding path).
	low, lowSvc, lowName string
	lowOK                bool
	actionID             int32 // see lowerAction; -1 when none

	ctx     *Context
	one     [1]string
	nowText string
	// keys the Context's source supplied during this evaluation
	srcN int
	src  [8]sourced
}

type sourced struct {
	key  string
	vals []string
	ok   bool
}

// init prepares ev for r.
func (ev *evalState) init(r *Request) {
	ev.r, ev.ctx, ev.action = r, r.Context, r.Action
	ev.svc, ev.name, ev.split = strings.Cut(r.Action, ":")
	ev.low, ev.actionID, ev.lowOK = lowerAction(r.Action)
	if ev.lowOK && ev.split {
		n := len(ev.svc)
		ev.lowSvc, ev.lowName = ev.low[:n], ev.low[n+1:]
	}
}

// internedActions interns the actions requests name (the API's
// operations: a small set), giving each its lower-cased form, so that an
// evaluation has it without allocating, and an id, which keys the
// policies' action indexes (Policy.candidates). The map is immutable once
// published; adding copies it. It stops growing at maxInternedActions
// (actions beyond are lowered on every evaluation and not indexed).
var internedActions struct {
	m  atomic.Pointer[map[string]internedAction]
	mu sync.Mutex
}

type internedAction struct {
	low string
	id  int32
}

const maxInternedActions = 512

// lowerAction returns the ASCII action a lower-cased and its id (-1 when
// not interned); ok is false for a non-ASCII action.
func lowerAction(a string) (low string, id int32, ok bool) {
	upper := false
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c >= utf8.RuneSelf {
			return "", -1, false
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if m := internedActions.m.Load(); m != nil {
		if e, ok := (*m)[a]; ok {
			return e.low, e.id, true
		}
	}
	ia := &internedActions
	ia.mu.Lock()
	defer ia.mu.Unlock()
	var old map[string]internedAction
	if m := ia.m.Load(); m != nil {
		old = *m
	}
	if e, ok := old[a]; ok {
		return e.low, e.id, true
	}
	low = a
	if upper {
		low = strings.ToLower(a)
	}
	if len(old) >= maxInternedActions {
		return low, -1, true
	}
	e := internedAction{low: strings.Clone(low), id: int32(len(old))}
	m := make(map[string]internedAction, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[strings.Clone(a)] = e
	ia.m.Store(&m)
	return e.low, e.id, true
}

// ctxValues returns the values of a (lower-cased) key from the Context:
// set explicitly, else from its source (asked once per key and
// evaluation, for the first few keys).
func (ev *evalState) ctxValues(key string) ([]string, bool) {
	c := ev.ctx
	if c == nil {
		return nil, false
	}
	if v, ok := c.explicit(key); ok {
		return v, true
	}
	if c.source == nil {
		return nil, false
	}
	for i := 0; i < ev.srcN; i++ {
		if e := &ev.src[i]; e.key == key {
			return e.vals, e.ok
		}
	}
	v, ok := c.source(key)
	if ev.srcN < len(ev.src) {
		ev.src[ev.srcN] = sourced{key, v, ok}
		ev.srcN++
	}
	return v, ok
}

// values returns the values of a condition key (lower-cased): the
// Context's, else the ones the evaluator supplies itself.
func (ev *evalState) values(key string) ([]string, bool) {
	if v, ok := ev.ctxValues(key); ok {
		return v, true
	}
	switch key {
	case "aws:principalarn":
		a := ev.r.Principal.RoleARN
		if a == "" {
			a = ev.r.Principal.ARN
		}
		if a == "" {
			return nil, false
		}
		ev.one[0] = a
		return ev.one[:], true
	case "aws:principalaccount":
		if ev.r.Principal.Account == "" {
			return nil, false
		}
		ev.one[0] = ev.r.Principal.Account
		return ev.one[:], true
	case "aws:currenttime":
		if ev.r.Now.IsZero() {
			return nil, false
		}
		if ev.nowText == "" {
			ev.nowText = ev.r.Now.UTC().Format(time.RFC3339)
		}
		ev.one[0] = ev.nowText
		return ev.one[:], true
	case "aws:epochtime":
		if ev.r.Now.IsZero() {
			return nil, false
		}
		ev.one[0] = strconv.FormatInt(ev.r.Now.Unix(), 10)
		return ev.one[:], true
	}
	return nil, false
}

// nowKey reports whether key is one the evaluator derives from
// Request.Now and the Context does not set (so operators may use the time
// directly instead of its text).
func (ev *evalState) nowKey(key string) bool {
	if key != "aws:currenttime" && key != "aws:epochtime" {
		return false
	}
	if _, ok := ev.ctxValues(key); ok {
		return false
	}
	return !ev.r.Now.IsZero()
}

// variable resolves a policy variable: the key's first value, else its
// default; ok is false when neither exists.
func (ev *evalState) variable(t *tok) (string, bool) {
	v, ok := ev.values(t.s)
	if ok && len(v) > 0 {
		return v[0], true
	}
	if t.hasDef {
		return t.def, true
	}
	return "", false
}
