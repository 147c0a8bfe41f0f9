package runenv

import (
	"errors"
	"fmt"
	"strings"
)

// Ref is a parsed secret reference: which secret, which version, and
// optionally which field of its JSON value.
//
// The text form is
//
//	SECRET_ID[@SELECTOR][#FIELD.PATH]
//
// SECRET_ID is a secret name or ARN. SELECTOR is AWSCURRENT, AWSPREVIOUS,
// AWSPENDING, stage:LABEL or version:VERSION_ID; without it the AWSCURRENT
// version is read. FIELD.PATH picks a field of a JSON value, dot-separated
// for nested objects (a numeric part indexes an array; "\." is a literal dot).
//
// The grammar is unambiguous for every legal secret id: "#" can appear in
// neither a secret name nor an ARN, so the field starts at the first "#"; a
// name cannot contain ":", so "@stage:" and "@version:" always start a
// selector; a bare "@AWSCURRENT", "@AWSPREVIOUS" or "@AWSPENDING" at the end
// is a selector too (a secret literally named "x@AWSPREVIOUS" is written
// "x@AWSPREVIOUS@AWSCURRENT"). Any other "@" belongs to the name.
type Ref struct {
	SecretID     string
	VersionStage string   // empty: AWSCURRENT unless VersionID is set
	VersionID    string   // empty: select by stage
	Field        []string // empty: the whole value
}

// ParseRef parses the text form described on Ref.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errors.New("empty secret reference")
	}
	var r Ref
	id := s
	if i := strings.IndexByte(s, '#'); i >= 0 {
		id = s[:i]
		f, err := ParseFieldPath(s[i+1:])
		if err != nil {
			return Ref{}, err
		}
		r.Field = f
	}
	if before, v, ok := cutLast(id, "@version:"); ok {
		if v == "" {
			return Ref{}, errors.New(`empty version id after "@version:"`)
		}
		r.VersionID, id = v, before
	} else if before, v, ok := cutLast(id, "@stage:"); ok {
		if v == "" {
			return Ref{}, errors.New(`empty staging label after "@stage:"`)
		}
		r.VersionStage, id = v, before
	} else if before, sel, ok := cutLast(id, "@"); ok {
		switch sel {
		case "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING":
			r.VersionStage, id = sel, before
		}
	}
	if id == "" {
		return Ref{}, errors.New("empty secret id")
	}
	r.SecretID = id
	return r, nil
}

// cutLast is strings.Cut at the last instance of sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// String returns the canonical text form of r, which ParseRef reads back.
func (r Ref) String() string {
	var b strings.Builder
	b.WriteString(r.SecretID)
	switch {
	case r.VersionID != "":
		b.WriteString("@version:" + r.VersionID)
	case r.VersionStage != "":
		b.WriteString("@stage:" + r.VersionStage)
	}
	if len(r.Field) > 0 {
		b.WriteString("#" + FormatFieldPath(r.Field))
	}
	return b.String()
}

// Version describes the selected version for people: "AWSCURRENT",
// "stage AWSPREVIOUS" or "version 0123...".
func (r Ref) Version() string {
	switch {
	case r.VersionID != "":
		return "version " + r.VersionID
	case r.VersionStage != "":
		return "stage " + r.VersionStage
	}
	return "AWSCURRENT"
}

// ParseFieldPath splits a dotted JSON field path ("a.b", ".a.b" as dsops
// writes it, "a\.b" for a key containing a dot) into its parts.
func ParseFieldPath(p string) ([]string, error) {
	p = strings.TrimPrefix(p, ".")
	if p == "" {
		return nil, errors.New("empty JSON field path")
	}
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p) && (p[i+1] == '.' || p[i+1] == '\\'):
			cur.WriteByte(p[i+1])
			i++
		case c == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	for _, part := range parts {
		if part == "" {
			return nil, fmt.Errorf("JSON field path %q has an empty part", p)
		}
	}
	return parts, nil
}

// FormatFieldPath is the inverse of ParseFieldPath.
func FormatFieldPath(parts []string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		p = strings.ReplaceAll(p, `\`, `\\`)
		esc[i] = strings.ReplaceAll(p, ".", `\.`)
	}
	return strings.Join(esc, ".")
}
