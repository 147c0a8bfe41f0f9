package policy

import "strings"

// Set replaces the values of key (compared case-insensitively). Setting no
// values leaves the key present with an empty set of values, which the
// ForAllValues/ForAnyValue operators treat like an absent key.
func (c *Context) Set(key string, values ...string) {
	k := strings.ToLower(key)
	v := append([]string(nil), values...)
	for i, have := range c.keys {
		if have == k {
			c.values[i] = v
			return
		}
	}
	c.keys = append(c.keys, k)
	c.values = append(c.values, v)
}

// Add appends values to key, creating it when absent.
func (c *Context) Add(key string, values ...string) {
	k := strings.ToLower(key)
	for i, have := range c.keys {
		if have == k {
			c.values[i] = append(c.values[i], values...)
			return
		}
	}
	c.keys = append(c.keys, k)
	c.values = append(c.values, append([]string(nil), values...))
}

// Get returns the values of key and whether the key is present.
func (c *Context) Get(key string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	for i, have := range c.keys {
		if strings.EqualFold(have, key) {
			return c.values[i], true
		}
	}
	return nil, false
}

// lookup is Get for a key already lower-cased (the evaluator's path).
func (c *Context) lookup(lowerKey string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	for i, have := range c.keys {
		if have == lowerKey {
			return c.values[i], true
		}
	}
	return nil, false
}
