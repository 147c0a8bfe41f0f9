package policy

import (
	"strconv"
	"strings"
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
	raw  string
	any  bool // the lone "*" (with wildcards on)
	lit  bool // no wildcard and no variable: compare s directly
	s    string
	toks []tok
}

// compilePattern compiles text. wild: * and ? are wildcards; vars: ${...}
// are policy variables; fold: the pattern matches case-insensitively (its
// literal text is stored lower-cased).
func compilePattern(text string, wild, vars, fold bool) pattern {
	p := pattern{raw: text}
	toks := tokenize(text, wild, vars)
	if fold {
		for i := range toks {
			if toks[i].kind == tLit {
				toks[i].s = strings.ToLower(toks[i].s)
			}
		}
	}
	switch {
	case len(toks) == 0:
		p.lit = true
	case len(toks) == 1 && toks[0].kind == tStar:
		p.any = true
	case len(toks) == 1 && toks[0].kind == tLit:
		p.lit, p.s = true, toks[0].s
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
		return s == p.s
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
// the (usually distinguishing) action name is compared before the service
// prefix.
type actionPattern struct {
	whole     pattern // used when the entry has no colon ("*")
	split     bool
	svc, name pattern
}

func compileAction(text string) actionPattern {
	a := actionPattern{whole: compilePattern(text, true, false, true)}
	if svc, name, ok := strings.Cut(text, ":"); ok && !a.whole.any {
		a.split = true
		a.svc = compilePattern(svc, true, false, true)
		a.name = compilePattern(name, true, false, true)
	}
	return a
}

// match matches the request's action, given pre-split (svc and name are
// "" with ok false when the action has no colon).
func (a *actionPattern) match(action, svc, name string, split bool, ev *evalState) bool {
	if !a.split || !split {
		return a.whole.match(action, true, ev)
	}
	return a.name.match(name, true, ev) && a.svc.match(svc, true, ev)
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
}

func compileARN(text string, vars bool) arnPattern {
	a := arnPattern{whole: compilePattern(text, true, vars, false)}
	if a.whole.any {
		return a
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
		p := pattern{toks: st}
		switch {
		case len(st) == 0:
			p.lit = true
		case len(st) == 1 && st[0].kind == tStar:
			p.any = true
		case len(st) == 1 && st[0].kind == tLit:
			p.lit, p.s, p.toks = true, st[0].s, nil
		}
		a.segs[i] = p
	}
	return a
}

// match reports whether the ARN (or "*") s matches.
func (a *arnPattern) match(s string, ev *evalState) bool {
	if a.segs == nil {
		return a.whole.match(s, false, ev)
	}
	rest := s
	for i := 0; i < 5; i++ {
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
	r       *Request
	svc     string // the action's service prefix
	name    string // the action's name
	split   bool
	ctx     *Context
	one     [1]string
	nowText string
}

// values returns the values of a condition key (lower-cased): the
// Context's, else the ones the evaluator supplies itself.
func (ev *evalState) values(key string) ([]string, bool) {
	if v, ok := ev.ctx.lookup(key); ok {
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
	if _, ok := ev.ctx.lookup(key); ok {
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
