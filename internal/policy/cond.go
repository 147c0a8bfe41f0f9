package policy

import (
	"bytes"
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
)

// Operator families.
const (
	opString = iota
	opStringIgnoreCase
	opStringLike
	opNumericEq
	opNumericLt
	opNumericLe
	opNumericGt
	opNumericGe
	opDateEq
	opDateLt
	opDateLe
	opDateGt
	opDateGe
	opBool
	opBinary
	opIP
	opArn
	opNull
)

type opInfo struct {
	family  int
	negated bool
}

// operators lists every condition operator (without ForAllValues:,
// ForAnyValue: and IfExists).
var operators = map[string]opInfo{
	"StringEquals":              {opString, false},
	"StringNotEquals":           {opString, true},
	"StringEqualsIgnoreCase":    {opStringIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"NumericEquals":             {opNumericEq, false},
	"NumericNotEquals":          {opNumericEq, true},
	"NumericLessThan":           {opNumericLt, false},
	"NumericLessThanEquals":     {opNumericLe, false},
	"NumericGreaterThan":        {opNumericGt, false},
	"NumericGreaterThanEquals":  {opNumericGe, false},
	"DateEquals":                {opDateEq, false},
	"DateNotEquals":             {opDateEq, true},
	"DateLessThan":              {opDateLt, false},
	"DateLessThanEquals":        {opDateLe, false},
	"DateGreaterThan":           {opDateGt, false},
	"DateGreaterThanEquals":     {opDateGe, false},
	"Bool":                      {opBool, false},
	"BinaryEquals":              {opBinary, false},
	"IpAddress":                 {opIP, false},
	"NotIpAddress":              {opIP, true},
	"ArnEquals":                 {opArn, false},
	"ArnLike":                   {opArn, false},
	"ArnNotEquals":              {opArn, true},
	"ArnNotLike":                {opArn, true},
	"Null":                      {opNull, false},
}

// Set operator prefixes.
const (
	setNone = iota
	setAll
	setAny
)

// parseOperator splits a condition operator into its parts; ok is false
// for an unknown operator.
func parseOperator(name string) (info opInfo, set int, ifExists, ok bool) {
	base := name
	switch {
	case strings.HasPrefix(base, "ForAllValues:"):
		set, base = setAll, base[len("ForAllValues:"):]
	case strings.HasPrefix(base, "ForAnyValue:"):
		set, base = setAny, base[len("ForAnyValue:"):]
	}
	if b, found := strings.CutSuffix(base, "IfExists"); found && b != "Null" {
		base, ifExists = b, true
	}
	info, ok = operators[base]
	return info, set, ifExists, ok
}

// condition is one (operator, key) pair of a Condition block, compiled.
type condition struct {
	op       string // as written, for messages
	family   int
	negated  bool
	ifExists bool
	set      int
	key      string // lower-cased
	pats     []pattern
	arns     []arnPattern
	nums     []float64 // NaN for a value that does not parse
	times    []int64   // unix nanoseconds; math.MinInt64 for one that does not parse
	bools    []string  // lower-cased
	bins     [][]byte  // nil for one that does not parse
	prefixes []ipPrefix
	nulls    []int8 // 1 true, 0 false, -1 neither
	values   []string
}

// compileCondition compiles the values of one operator/key pair. vars
// says whether policy variables apply (Version 2012-10-17).
func compileCondition(op, key string, values []string, vars bool) condition {
	info, set, ifExists, _ := parseOperator(op)
	c := condition{op: op, family: info.family, negated: info.negated, ifExists: ifExists, set: set, key: strings.ToLower(key), values: values}
	for _, v := range values {
		switch c.family {
		case opString:
			c.pats = append(c.pats, compilePattern(v, false, vars, false))
		case opStringIgnoreCase:
			c.pats = append(c.pats, compilePattern(v, false, vars, true))
		case opStringLike:
			c.pats = append(c.pats, compilePattern(v, true, vars, false))
		case opArn:
			c.arns = append(c.arns, compileARN(v, vars))
		case opNumericEq, opNumericLt, opNumericLe, opNumericGt, opNumericGe:
			f, ok := parseNumber(v)
			if !ok {
				f = math.NaN()
			}
			c.nums = append(c.nums, f)
		case opDateEq, opDateLt, opDateLe, opDateGt, opDateGe:
			t, ok := parseDate(v)
			n := int64(math.MinInt64)
			if ok {
				n = t
			}
			c.times = append(c.times, n)
		case opBool:
			c.bools = append(c.bools, strings.ToLower(v))
		case opBinary:
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				b = nil
			} else if b == nil {
				b = []byte{}
			}
			c.bins = append(c.bins, b)
		case opIP:
			p, _ := parsePrefix(v)
			c.prefixes = append(c.prefixes, p)
		case opNull:
			n := int8(-1)
			switch strings.ToLower(v) {
			case "true":
				n = 1
			case "false":
				n = 0
			}
			c.nulls = append(c.nulls, n)
		}
	}
	return c
}

// eval evaluates the condition against the request.
func (c *condition) eval(ev *evalState) bool {
	if c.family == opNull {
		vals, present := ev.values(c.key)
		present = present && len(vals) > 0
		for _, n := range c.nulls {
			if (n == 1 && !present) || (n == 0 && present) {
				return true
			}
		}
		return false
	}
	if c.family >= opNumericEq && c.family <= opDateGe && ev.nowKey(c.key) &&
		(c.family >= opDateEq || c.key == "aws:epochtime") {
		// aws:CurrentTime / aws:EpochTime from Request.Now, compared as a
		// time (to the second, like their text forms) without formatting.
		secs := ev.r.Now.Unix()
		r := c.matchTime(secs*int64(time.Second), secs)
		if c.negated {
			r = !r
		}
		return r
	}
	vals, present := ev.values(c.key)
	if !present || len(vals) == 0 {
		switch c.set {
		case setAll:
			return true
		case setAny:
			return c.ifExists
		}
		return c.ifExists || c.negated
	}
	switch c.set {
	case setAll:
		for _, v := range vals {
			if c.matchAny(v, ev) == c.negated {
				return false
			}
		}
		return true
	case setAny:
		for _, v := range vals {
			if c.matchAny(v, ev) != c.negated {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		if c.matchAny(v, ev) {
			return !c.negated
		}
	}
	return c.negated
}

// matchTime compares a time (unix nanoseconds for dates, seconds for
// numbers) against the policy values.
func (c *condition) matchTime(nanos, secs int64) bool {
	if c.family <= opNumericGe {
		return c.anyNum(float64(secs))
	}
	return c.anyTime(nanos)
}

// anyNum reports whether the number f compares as the operator says with
// any policy value.
func (c *condition) anyNum(f float64) bool {
	for _, n := range c.nums {
		if compare(c.family-opNumericEq, f, n) {
			return true
		}
	}
	return false
}

// anyTime reports whether the time t (unix nanoseconds) compares as the
// operator says with any policy value that is a valid date.
func (c *condition) anyTime(t int64) bool {
	for _, n := range c.times {
		if n != math.MinInt64 && compare(c.family-opDateEq, t, n) {
			return true
		}
	}
	return false
}

// matchAny reports whether the context value v matches any policy value
// under the operator's positive form.
func (c *condition) matchAny(v string, ev *evalState) bool {
	switch c.family {
	case opString:
		for i := range c.pats {
			if c.pats[i].matchExact(v, false, ev) {
				return true
			}
		}
	case opStringIgnoreCase:
		for i := range c.pats {
			if c.pats[i].matchExact(v, true, ev) {
				return true
			}
		}
	case opStringLike:
		for i := range c.pats {
			if c.pats[i].match(v, false, ev) {
				return true
			}
		}
	case opArn:
		if strings.Count(v, ":") < 5 {
			return false
		}
		for i := range c.arns {
			if c.arns[i].match(v, ev) {
				return true
			}
		}
	case opNumericEq, opNumericLt, opNumericLe, opNumericGt, opNumericGe:
		f, ok := parseNumber(v)
		return ok && c.anyNum(f)
	case opDateEq, opDateLt, opDateLe, opDateGt, opDateGe:
		t, ok := parseDate(v)
		return ok && c.anyTime(t)
	case opBool:
		for _, b := range c.bools {
			if equalFold(v, b) && (b == "true" || b == "false") {
				return true
			}
		}
	case opBinary:
		var buf [256]byte
		if base64.StdEncoding.DecodedLen(len(v)) > len(buf) {
			return false
		}
		n, err := base64.StdEncoding.Decode(buf[:], []byte(v))
		if err != nil {
			return false
		}
		for _, b := range c.bins {
			if b != nil && bytes.Equal(buf[:n], b) {
				return true
			}
		}
	case opIP:
		a, ok := parseAddr(v)
		if !ok {
			return false
		}
		for _, p := range c.prefixes {
			if p.contains(a) {
				return true
			}
		}
	}
	return false
}

// matchExact matches v against a string value without wildcards (but with
// its policy variables resolved).
func (p *pattern) matchExact(v string, fold bool, ev *evalState) bool {
	if p.lit {
		if fold {
			return equalFold(v, p.s)
		}
		return v == p.s
	}
	return globMatch(p.toks, v, fold, ev)
}

// compare applies comparison k (0 eq, 1 lt, 2 le, 3 gt, 4 ge).
func compare[T int64 | float64](k int, a, b T) bool {
	switch k {
	case 0:
		return a == b
	case 1:
		return a < b
	case 2:
		return a <= b
	case 3:
		return a > b
	}
	return a >= b
}

// parseNumber parses a decimal number (integer or float) without
// allocating on failure.
func parseNumber(s string) (float64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// parseDate parses an ISO 8601 date/time (YYYY[-MM[-DD]][Thh[:mm[:ss[.f]]]]
// with Z or ±hh[:mm], UTC when no zone) or epoch seconds, into unix
// nanoseconds (saturating far outside the representable range).
func parseDate(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if !strings.ContainsAny(s, "-Tt") {
		n, ok := atoi(s)
		if !ok || len(s) > 18 {
			return 0, false
		}
		if n > math.MaxInt64/int64(time.Second) {
			return math.MaxInt64 - 1, true
		}
		return n * int64(time.Second), true
	}
	i := 0
	num := func(min, max int) (int, bool) {
		j := i
		for j < len(s) && j-i < max && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i < min {
			return 0, false
		}
		n, _ := atoi(s[i:j])
		i = j
		return int(n), true
	}
	year, ok := num(4, 4)
	if !ok {
		return 0, false
	}
	month, day := 1, 1
	if i < len(s) && s[i] == '-' {
		i++
		if month, ok = num(2, 2); !ok || month < 1 || month > 12 {
			return 0, false
		}
		if i < len(s) && s[i] == '-' {
			i++
			if day, ok = num(2, 2); !ok || day < 1 || day > 31 {
				return 0, false
			}
		}
	}
	hour, min, sec, nsec := 0, 0, 0, 0
	offset := 0
	if i < len(s) && (s[i] == 'T' || s[i] == 't') {
		i++
		if hour, ok = num(1, 2); !ok || hour > 23 {
			return 0, false
		}
		if i < len(s) && s[i] == ':' {
			i++
			if min, ok = num(2, 2); !ok || min > 59 {
				return 0, false
			}
			if i < len(s) && s[i] == ':' {
				i++
				if sec, ok = num(2, 2); !ok || sec > 59 {
					return 0, false
				}
				if i < len(s) && s[i] == '.' {
					i++
					j := i
					for j < len(s) && s[j] >= '0' && s[j] <= '9' {
						j++
					}
					frac := s[i:j]
					if frac == "" || len(frac) > 9 {
						return 0, false
					}
					f, _ := atoi(frac)
					for k := len(frac); k < 9; k++ {
						f *= 10
					}
					nsec = int(f)
					i = j
				}
			}
		}
		if i < len(s) {
			switch s[i] {
			case 'Z', 'z':
				i++
			case '+', '-':
				sign := 1
				if s[i] == '-' {
					sign = -1
				}
				i++
				oh, ok := num(2, 2)
				if !ok || oh > 23 {
					return 0, false
				}
				om := 0
				if i < len(s) && s[i] == ':' {
					i++
					if om, ok = num(2, 2); !ok || om > 59 {
						return 0, false
					}
				}
				offset = sign * (oh*3600 + om*60)
			}
		}
	}
	if i != len(s) {
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC)
	return t.UnixNano() - int64(offset)*int64(time.Second), true
}

func atoi(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
