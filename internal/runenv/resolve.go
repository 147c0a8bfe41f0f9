package runenv

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// Mapping says where one environment variable's value comes from.
type Mapping struct {
	Var        string
	Store      string // store name; "" is the command line's store
	Ref        Ref    // the secret, version and JSON field
	Transforms []Transform
	Literal    *string // a dsops literal: no secret is read
	Optional   bool    // a missing secret or field leaves the variable unset
	Source     string  // how the user wrote it, for messages (never a value)
}

// Describe returns the one-line plan of m: where the value comes from,
// never the value itself (a literal is shown as "literal").
func (m Mapping) Describe() string {
	if m.Literal != nil {
		return "literal"
	}
	var b strings.Builder
	if m.Store != "" {
		b.WriteString(m.Store + ": ")
	}
	b.WriteString(m.Ref.SecretID + " (" + m.Ref.Version() + ")")
	if len(m.Ref.Field) > 0 {
		b.WriteString(" field " + FormatFieldPath(m.Ref.Field))
	}
	for _, t := range m.Transforms {
		b.WriteString(" | " + t.String())
	}
	if m.Optional {
		b.WriteString(" [optional]")
	}
	return b.String()
}

// Var is one resolved environment variable.
type Var struct {
	Name  string
	Value string
}

// Resolver reads secrets through one client per store name.
type Resolver struct {
	Clients map[string]API
}

type fetchKey struct {
	store, id, versionID, stage string
}

type fetched struct {
	value string
	err   error
}

// Resolve resolves every mapping, reading each distinct secret version
// once. When anything fails it returns every problem at once, each naming
// the variable and the reference, and never a value. The result keeps the
// order of ms.
func (r *Resolver) Resolve(ctx context.Context, ms []Mapping) ([]Var, error) {
	cache := map[fetchKey]fetched{}
	var out []Var
	var errs []error
	for _, m := range ms {
		v, err := r.resolveOne(ctx, m, cache)
		if err != nil {
			if m.Optional && isMissing(err) {
				continue
			}
			errs = append(errs, fmt.Errorf("%s (%s): %w", m.Var, m.Source, err))
			continue
		}
		if strings.IndexByte(v, 0) >= 0 {
			errs = append(errs, fmt.Errorf("%s (%s): the value contains a NUL byte, which an environment variable cannot hold", m.Var, m.Source))
			continue
		}
		out = append(out, Var{m.Var, v})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// missingError marks a secret, version or field that does not exist.
type missingError struct{ msg string }

func (e missingError) Error() string { return e.msg }

func isMissing(err error) bool {
	var m missingError
	return errors.As(err, &m)
}

func (r *Resolver) resolveOne(ctx context.Context, m Mapping, cache map[fetchKey]fetched) (string, error) {
	if m.Literal != nil {
		return applyTransforms(*m.Literal, m.Transforms)
	}
	client, ok := r.Clients[m.Store]
	if !ok {
		return "", fmt.Errorf("no secret store named %q", m.Store)
	}
	k := fetchKey{m.Store, m.Ref.SecretID, m.Ref.VersionID, m.Ref.VersionStage}
	f, ok := cache[k]
	if !ok {
		f.value, f.err = fetch(ctx, client, m.Ref)
		cache[k] = f
	}
	if f.err != nil {
		return "", f.err
	}
	v := f.value
	if len(m.Ref.Field) > 0 {
		var err error
		if v, err = ExtractField(v, m.Ref.Field); err != nil {
			if strings.Contains(err.Error(), "not found") {
				return "", missingError{err.Error()}
			}
			return "", err
		}
	}
	return applyTransforms(v, m.Transforms)
}

func applyTransforms(v string, ts []Transform) (string, error) {
	for _, t := range ts {
		var err error
		if v, err = t.Apply(v); err != nil {
			if strings.Contains(err.Error(), "not found") {
				return "", missingError{fmt.Sprintf("transform %s: %v", t, err)}
			}
			return "", fmt.Errorf("transform %s: %w", t, err)
		}
	}
	return v, nil
}

// fetch reads one secret version. A binary secret's bytes are the value, as
// dsops does (apply base64_decode when those bytes are base64 text).
func fetch(ctx context.Context, c API, ref Ref) (string, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref.SecretID)}
	if ref.VersionID != "" {
		in.VersionId = aws.String(ref.VersionID)
	}
	if ref.VersionStage != "" {
		in.VersionStage = aws.String(ref.VersionStage)
	}
	out, err := c.GetSecretValue(ctx, in)
	if err != nil {
		return "", apiError(err, ref)
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case out.SecretBinary != nil:
		return string(out.SecretBinary), nil
	}
	return "", missingError{"the secret version has no value"}
}

// apiError turns an SDK error into a short message without request ids.
func apiError(err error, ref Ref) error {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		if ref.VersionID != "" || ref.VersionStage != "" {
			return missingError{fmt.Sprintf("secret %q or its %s not found", ref.SecretID, ref.Version())}
		}
		return missingError{fmt.Sprintf("secret %q not found", ref.SecretID)}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}

// Environ returns base with vars set (replacing any same-named entries),
// sorted by name for a stable child environment.
func Environ(base []string, vars []Var) []string {
	set := map[string]string{}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			set[k] = v
		}
	}
	for _, v := range vars {
		set[v.Name] = v.Value
	}
	out := make([]string, 0, len(set))
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ValidVarName reports whether name can be an environment variable name.
func ValidVarName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "=\x00")
}
