package runenv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Transform changes a resolved value. The error of Apply never quotes the
// value.
type Transform struct {
	Name string // e.g. "json_extract"
	Arg  string // e.g. ".password"
	path []string
}

// supportedTransforms is printed when a transform is refused.
const supportedTransforms = "json_extract:.path, base64_decode, base64_encode, trim, multiline_to_single, replace:from:to"

// ParseTransforms parses a dsops transform chain: transforms separated by
// "," (or "|" when there is no ","), applied left to right.
func ParseTransforms(s string) ([]Transform, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) == 1 {
		parts = strings.Split(s, "|")
	}
	var out []Transform
	for _, p := range parts {
		p = strings.TrimSpace(p)
		name, arg, hasArg := strings.Cut(p, ":")
		t := Transform{Name: name, Arg: arg}
		switch {
		case name == "json_extract" && hasArg:
			if !strings.HasPrefix(arg, ".") {
				return nil, fmt.Errorf("transform %q: the JSON path must start with '.'", p)
			}
			path, err := ParseFieldPath(arg)
			if err != nil {
				return nil, fmt.Errorf("transform %q: %w", p, err)
			}
			t.path = path
		case name == "replace" && hasArg:
			if !strings.Contains(arg, ":") {
				return nil, fmt.Errorf("transform %q: replace needs the form replace:from:to", p)
			}
		case !hasArg && (name == "base64_decode" || name == "base64_encode" || name == "trim" || name == "multiline_to_single"):
		default:
			return nil, fmt.Errorf("unknown transform %q (coffer supports %s)", p, supportedTransforms)
		}
		out = append(out, t)
	}
	return out, nil
}

// String returns the transform as dsops writes it.
func (t Transform) String() string {
	if t.Arg != "" || t.Name == "json_extract" || t.Name == "replace" {
		return t.Name + ":" + t.Arg
	}
	return t.Name
}

// Apply runs the transform on v.
func (t Transform) Apply(v string) (string, error) {
	switch t.Name {
	case "json_extract":
		return ExtractField(v, t.path)
	case "base64_decode":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return "", errors.New("base64_decode: the value is not valid base64")
		}
		return string(b), nil
	case "base64_encode":
		return base64.StdEncoding.EncodeToString([]byte(v)), nil
	case "trim":
		return strings.TrimSpace(v), nil
	case "multiline_to_single":
		return strings.ReplaceAll(strings.ReplaceAll(v, "\n", `\n`), "\r", ""), nil
	case "replace":
		from, to, _ := strings.Cut(t.Arg, ":")
		return strings.ReplaceAll(v, from, to), nil
	}
	return "", fmt.Errorf("unknown transform %q", t.Name)
}

// ExtractField returns the field at path of the JSON document v: a string
// as is, a number as written, true/false, "" for null, and an object or
// array as compact JSON. Errors name the path, never the value.
func ExtractField(v string, path []string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "", errors.New("the secret value is not JSON, so it has no fields")
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("the secret value is not a single JSON document, so it has no fields")
	}
	cur := doc
	for i, part := range path {
		where := FormatFieldPath(path[:i+1])
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[part]
			if !ok {
				return "", fmt.Errorf("JSON field %q not found", where)
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n >= len(c) {
				return "", fmt.Errorf("JSON field %q not found (an array has only numeric indexes 0..%d)", where, len(c)-1)
			}
			cur = c[n]
		default:
			return "", fmt.Errorf("JSON field %q not found (its parent is not an object)", where)
		}
	}
	switch c := cur.(type) {
	case string:
		return c, nil
	case json.Number:
		return c.String(), nil
	case bool:
		return strconv.FormatBool(c), nil
	case nil:
		return "", nil
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(c); err != nil {
			return "", errors.New("cannot re-encode the JSON field")
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	}
}
