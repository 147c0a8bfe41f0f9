package policy

import "strings"

// Set replaces the values of key (compared case-insensitively). Setting no
// values leaves the key present with an empty set of values, which the
// ForAllValues/ForAnyValue operators treat like an absent key. The values
// are copied. Set is cheapest with a lower-case key (it is then stored as
// given) and amortises the copies of the values over the Context.
func (c *Context) Set(key string, values ...string) {
	k := strings.ToLower(key) // returns key itself when it is lower-case ASCII
	v := c.store(values)
	for i := range c.entries {
		if e := &c.entries[i]; e.key == k {
			e.values = v
			return
		}
	}
	c.append(k, v)
}

// Add appends values to key, creating it when absent.
func (c *Context) Add(key string, values ...string) {
	k := strings.ToLower(key)
	for i := range c.entries {
		if e := &c.entries[i]; e.key == k {
			e.values = append(e.values, values...)
			return
		}
	}
	c.append(k, c.store(values))
}

// SetSource installs f as the Context's source of keys not Set (or Added)
// explicitly; nil removes it. f receives a lower-cased key and returns its
// values and whether the key is present, exactly as Set would have given
// them; a key Set explicitly overrides f's answer. Get consults f, and so
// does the evaluator, which asks only for the keys that the policies'
// conditions reference and that their policy variables (${...}) use,
// possibly more than once per key in one evaluation, always from the
// goroutine evaluating. The evaluator does not change the slices f
// returns. A source lets callers supply the global keys
// (aws:PrincipalTag/..., aws:username, aws:CurrentTime, ...) on demand
// instead of filling them all for every request.
func (c *Context) SetSource(f func(lowerKey string) ([]string, bool)) {
	c.source = f
}

// Get returns the values of key and whether the key is present (set
// explicitly, or supplied by the source).
func (c *Context) Get(key string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	for i := range c.entries {
		if e := &c.entries[i]; strings.EqualFold(e.key, key) {
			return e.values, true
		}
	}
	if c.source != nil {
		return c.source(strings.ToLower(key))
	}
	return nil, false
}

// explicit is Get for a key already lower-cased, without the source.
func (c *Context) explicit(lowerKey string) ([]string, bool) {
	for i := range c.entries {
		if e := &c.entries[i]; e.key == lowerKey {
			return e.values, true
		}
	}
	return nil, false
}

// store copies values into the Context's backing array, returning a slice
// whose capacity ends with it (so that appending to it, in Add or by a
// caller of Get, never overwrites a neighbour). No values give nil.
func (c *Context) store(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	if cap(c.buf)-len(c.buf) < len(values) {
		// A fresh array: the slices already handed out keep the old one.
		n := 2 * cap(c.buf)
		if n < 16 {
			n = 16
		}
		if n < len(values) {
			n = len(values)
		}
		c.buf = make([]string, 0, n)
	}
	start := len(c.buf)
	c.buf = append(c.buf, values...)
	return c.buf[start:len(c.buf):len(c.buf)]
}

func (c *Context) append(k string, v []string) {
	if c.entries == nil {
		c.entries = make([]ctxEntry, 0, 8)
	}
	c.entries = append(c.entries, ctxEntry{k, v})
}
