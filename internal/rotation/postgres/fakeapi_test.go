package postgres

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

// fakeAPI is an in-memory Secrets Manager with its staging-label
// semantics: a version may exist without a value (the AWSPENDING
// placeholder the service creates before createSecret), which GetSecretValue
// reports as not found and PutSecretValue fills; a label is on at most one
// version; moving AWSCURRENT gives AWSPREVIOUS to the version it left.
type fakeAPI struct {
	mu        sync.Mutex
	secrets   map[string]*fakeSecret // by ARN
	passwords []string               // every password GetRandomPassword returned
	opts      []rotation.PasswordOptions
}

type fakeSecret struct {
	versions map[string]*fakeVersion
}

type fakeVersion struct {
	value  *string
	stages []string
}

func newFakeAPI() *fakeAPI { return &fakeAPI{secrets: map[string]*fakeSecret{}} }

// create makes a secret whose first version holds value as AWSCURRENT.
func (f *fakeAPI) create(arn, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[arn] = &fakeSecret{versions: map[string]*fakeVersion{
		uuid.NewString(): {value: &value, stages: []string{"AWSCURRENT"}},
	}}
}

// startRotation is what the service does before createSecret: a new
// version id carrying AWSPENDING and no value.
func (f *fakeAPI) startRotation(arn string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[arn]
	token := uuid.NewString()
	s.versions[token] = &fakeVersion{}
	s.attach("AWSPENDING", token)
	return token
}

// endRotation is what the service does after finishSecret: AWSPENDING goes.
func (f *fakeAPI) endRotation(arn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.secrets[arn].versions {
		v.stages = slices.DeleteFunc(v.stages, func(s string) bool { return s == "AWSPENDING" })
	}
}

// value returns the value under stage ("" when none).
func (f *fakeAPI) value(arn, stage string) string {
	s, _ := f.GetSecretValue(context.Background(), arn, "", stage)
	return s
}

func (f *fakeAPI) set(arn, stage, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id := f.secrets[arn].holder(stage); id != "" {
		f.secrets[arn].versions[id].value = &value
	}
}

func (f *fakeAPI) generated() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.passwords)
}

func (s *fakeSecret) holder(stage string) string {
	for id, v := range s.versions {
		if slices.Contains(v.stages, stage) {
			return id
		}
	}
	return ""
}

// attach puts stage on version id, taking it from any other version; when
// stage is AWSCURRENT, the version that had it gets AWSPREVIOUS.
func (s *fakeSecret) attach(stage, id string) {
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

func (f *fakeAPI) secret(id string) (*fakeSecret, error) {
	s, ok := f.secrets[id]
	if !ok {
		return nil, fmt.Errorf("secret %s: %w", id, rotation.ErrNotFound)
	}
	return s, nil
}

func (f *fakeAPI) DescribeSecret(_ context.Context, id string) (*rotation.Description, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.secret(id)
	if err != nil {
		return nil, err
	}
	d := &rotation.Description{ARN: id, Name: id[strings.LastIndex(id, ":")+1:], RotationEnabled: true, VersionIDsToStages: map[string][]string{}}
	for vid, v := range s.versions {
		if len(v.stages) > 0 {
			d.VersionIDsToStages[vid] = slices.Clone(v.stages)
		}
	}
	return d, nil
}

func (f *fakeAPI) GetSecretValue(_ context.Context, id, versionID, stage string) (string, error) {
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

func (f *fakeAPI) PutSecretValue(_ context.Context, id, token, value string, stages []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.secret(id)
	if err != nil {
		return err
	}
	v, ok := s.versions[token]
	switch {
	case !ok:
		s.versions[token] = &fakeVersion{value: &value}
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

func (f *fakeAPI) UpdateSecretVersionStage(_ context.Context, id, stage, moveTo, removeFrom string) error {
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

func (f *fakeAPI) GetRandomPassword(_ context.Context, o rotation.PasswordOptions) (string, error) {
	n := o.Length
	if n == 0 {
		n = 32
	}
	var chars []byte
	for c := byte('!'); c <= '~'; c++ {
		if !strings.ContainsRune(o.ExcludeCharacters, rune(c)) {
			chars = append(chars, c)
		}
	}
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			return "", err
		}
		b[i] = chars[k.Int64()]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.passwords = append(f.passwords, string(b))
	f.opts = append(f.opts, o)
	return string(b), nil
}
