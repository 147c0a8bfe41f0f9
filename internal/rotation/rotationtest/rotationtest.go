// Package rotationtest holds what the tests of the built-in rotators share:
// SecretsAPI, an in-memory Secrets Manager to rotate against. It is for
// tests only: the tests of internal/rotation/mysql and
// internal/rotation/postgres import it, no other code does.
package rotationtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/coffer-dev/coffer/internal/rotation"
)

// SecretsAPI is an in-memory rotation.SecretsAPI with AWS's staging-label
// rules (§4 of BEHAVIOUR.md) as far as the rotators use them: a version may
// exist without a value (the AWSPENDING placeholder the service creates
// before createSecret), which GetSecretValue reports as not found and
// PutSecretValue fills; a label is on at most one version; moving
// AWSCURRENT gives AWSPREVIOUS to the version it left.
type SecretsAPI struct {
	mu        sync.Mutex
	secrets   map[string]*secret // by ARN
	passwords []string           // every password GetRandomPassword returned
	opts      []rotation.PasswordOptions
}

type secret struct {
	enabled  bool
	versions map[string]*version
}

type version struct {
	value  *string
	stages []string
}

var _ rotation.SecretsAPI = (*SecretsAPI)(nil)

// NewSecretsAPI returns an API that holds no secret.
func NewSecretsAPI() *SecretsAPI { return &SecretsAPI{secrets: map[string]*secret{}} }

// Create makes the secret arn, with rotation enabled, whose first version
// holds value as AWSCURRENT.
func (f *SecretsAPI) Create(arn, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[arn] = &secret{enabled: true, versions: map[string]*version{
		uuid.NewString(): {value: &value, stages: []string{"AWSCURRENT"}},
	}}
}

// StartRotation is what the service does before createSecret: a new
// version id carrying AWSPENDING and no value, which it returns.
func (f *SecretsAPI) StartRotation(arn string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[arn]
	token := uuid.NewString()
	s.versions[token] = &version{}
	s.attach("AWSPENDING", token)
	return token
}

// EndRotation is what the service does after finishSecret: AWSPENDING
// leaves the version that is AWSCURRENT.
func (f *SecretsAPI) EndRotation(arn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.secrets[arn].versions {
		if slices.Contains(v.stages, "AWSCURRENT") {
			v.stages = slices.DeleteFunc(v.stages, func(s string) bool { return s == "AWSPENDING" })
		}
	}
}

// Value returns the value under stage ("" when none).
func (f *SecretsAPI) Value(arn, stage string) string {
	s, _ := f.GetSecretValue(context.Background(), arn, "", stage)
	return s
}

// Set replaces the value of the version under stage, labels unchanged.
func (f *SecretsAPI) Set(arn, stage, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id := f.secrets[arn].holder(stage); id != "" {
		f.secrets[arn].versions[id].value = &value
	}
}

// SetStages replaces the labels of version id of arn, without the rules.
func (f *SecretsAPI) SetStages(arn, id string, stages ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[arn].versions[id].stages = stages
}

// SetRotationEnabled turns rotation of arn on or off.
func (f *SecretsAPI) SetRotationEnabled(arn string, enabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[arn].enabled = enabled
}

// Stages returns a copy of the staging labels of arn's versions.
func (f *SecretsAPI) Stages(arn string) map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for id, v := range f.secrets[arn].versions {
		out[id] = slices.Clone(v.stages)
	}
	return out
}

// Passwords returns every password GetRandomPassword returned, in order.
func (f *SecretsAPI) Passwords() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.passwords)
}

// Options returns the options of every GetRandomPassword call, in order.
func (f *SecretsAPI) Options() []rotation.PasswordOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.opts)
}

func (s *secret) holder(stage string) string {
	for id, v := range s.versions {
		if slices.Contains(v.stages, stage) {
			return id
		}
	}
	return ""
}

// attach puts stage on version id, taking it from any other version; when
// stage is AWSCURRENT, the version that had it gets AWSPREVIOUS.
func (s *secret) attach(stage, id string) {
	old := s.holder(stage)
	if old == id {
		return
	}
	if old != "" {
		v := s.versions[old]
		v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == stage })
	}
	s.versions[id].stages = append(s.versions[id].stages, stage)
	if stage == "AWSCURRENT" && old != "" {
		s.attach("AWSPREVIOUS", old)
	}
}

func (f *SecretsAPI) secret(id string) (*secret, error) {
	s, ok := f.secrets[id]
	if !ok {
		return nil, fmt.Errorf("secret %s: %w", id, rotation.ErrNotFound)
	}
	return s, nil
}

func (f *SecretsAPI) DescribeSecret(_ context.Context, id string) (*rotation.Description, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.secret(id)
	if err != nil {
		return nil, err
	}
	d := &rotation.Description{ARN: id, Name: id[strings.LastIndex(id, ":")+1:], RotationEnabled: s.enabled, VersionIDsToStages: map[string][]string{}}
	for vid, v := range s.versions {
		if len(v.stages) > 0 {
			d.VersionIDsToStages[vid] = slices.Clone(v.stages)
		}
	}
	return d, nil
}

func (f *SecretsAPI) GetSecretValue(_ context.Context, id, versionID, stage string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.secret(id)
	if err != nil {
		return "", err
	}
	if versionID == "" {
		if stage == "" {
			stage = "AWSCURRENT"
		}
		versionID = s.holder(stage)
	}
	v, ok := s.versions[versionID]
	if !ok || (stage != "" && !slices.Contains(v.stages, stage)) || v.value == nil {
		return "", fmt.Errorf("secret %s version %s stage %s: %w", id, versionID, stage, rotation.ErrNotFound)
	}
	return *v.value, nil
}

func (f *SecretsAPI) PutSecretValue(_ context.Context, id, token, value string, stages []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.secret(id)
	if err != nil {
		return err
	}
	v, ok := s.versions[token]
	switch {
	case !ok:
		s.versions[token] = &version{value: &value}
	case v.value == nil:
		v.value = &value
	case *v.value != value:
		return errors.New("ResourceExistsException: a version with this token already exists with another value")
	}
	if len(stages) == 0 {
		stages = []string{"AWSCURRENT"}
	}
	for _, st := range stages {
		s.attach(st, token)
	}
	return nil
}

func (f *SecretsAPI) UpdateSecretVersionStage(_ context.Context, id, stage, moveTo, removeFrom string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.secret(id)
	if err != nil {
		return err
	}
	if holder := s.holder(stage); holder != "" && holder != moveTo && holder != removeFrom {
		return fmt.Errorf("InvalidParameterException: stage %s is attached to version %s, not %q", stage, holder, removeFrom)
	}
	if moveTo == "" {
		if removeFrom != "" {
			v := s.versions[removeFrom]
			v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == stage })
		}
		return nil
	}
	if _, ok := s.versions[moveTo]; !ok {
		return fmt.Errorf("version %s: %w", moveTo, rotation.ErrNotFound)
	}
	s.attach(stage, moveTo)
	return nil
}

// GetRandomPassword draws from the printable ASCII characters opts does
// not exclude and, with RequireEachIncludedType, draws again until the
// password has a lower-case letter, an upper-case letter, a digit and a
// punctuation character.
func (f *SecretsAPI) GetRandomPassword(_ context.Context, o rotation.PasswordOptions) (string, error) {
	n := o.Length
	if n == 0 {
		n = 32
	}
	var alphabet []byte
	for c := byte('!'); c <= '~'; c++ {
		if !strings.ContainsRune(o.ExcludeCharacters, rune(c)) {
			alphabet = append(alphabet, c)
		}
	}
	for {
		b := make([]byte, n)
		for i := range b {
			k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			if err != nil {
				return "", fmt.Errorf("random password: %w", err)
			}
			b[i] = alphabet[k.Int64()]
		}
		pw := string(b)
		if o.RequireEachIncludedType && !(strings.ContainsAny(pw, "abcdefghijklmnopqrstuvwxyz") &&
			strings.ContainsAny(pw, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(pw, "0123456789") &&
			strings.ContainsAny(pw, "!#$%&()*+,-.:;<=>?[]^_`{|}~")) {
			continue
		}
		f.mu.Lock()
		f.passwords = append(f.passwords, pw)
		f.opts = append(f.opts, o)
		f.mu.Unlock()
		return pw, nil
	}
}
