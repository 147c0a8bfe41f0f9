package mysql

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/coffer-dev/coffer/internal/rotation"
)

// fakeAPI is a small in-memory Secrets Manager with AWS's staging-label
// rules (§4 of BEHAVIOUR.md) as far as the rotators use them.
type fakeAPI struct {
	mu        sync.Mutex
	secrets   map[string]*fakeSecret // by ARN
	passwords []string               // every password GetRandomPassword returned
	opts      []rotation.PasswordOptions
	n         int
}

type fakeSecret struct {
	arn      string
	enabled  bool
	versions map[string]*fakeVersion
}

type fakeVersion struct {
	value  *string
	stages []string
}

func newFakeAPI() *fakeAPI { return &fakeAPI{secrets: map[string]*fakeSecret{}} }

// create adds a secret whose first version is AWSCURRENT and returns its ARN.
func (f *fakeAPI) create(name, value string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf"
	v := value
	f.secrets[arn] = &fakeSecret{arn: arn, enabled: true, versions: map[string]*fakeVersion{
		fmt.Sprintf("v0-%d", f.n): {value: &v, stages: []string{stageCurrent}},
	}}
	return arn
}

func (f *fakeAPI) secret(id string) (*fakeSecret, error) {
	s, ok := f.secrets[id]
	if !ok {
		return nil, fmt.Errorf("secret %s: %w", id, rotation.ErrNotFound)
	}
	return s, nil
}

// moveStage attaches stage to version to, removing it from every other
// version; moving AWSCURRENT gives AWSPREVIOUS to the old current version.
func (s *fakeSecret) moveStage(stage, to string) {
	for id, v := range s.versions {
		if id == to || !slices.Contains(v.stages, stage) {
			continue
		}
		v.stages = without(v.stages, stage)
		if stage == stageCurrent {
			for _, o := range s.versions {
				o.stages = without(o.stages, stagePrevious)
			}
			v.stages = append(v.stages, stagePrevious)
		}
	}
	if t := s.versions[to]; t != nil && !slices.Contains(t.stages, stage) {
		if stage == stageCurrent {
			t.stages = without(t.stages, stagePrevious)
		}
		t.stages = append(t.stages, stage)
	}
}

func without(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// startRotation attaches AWSPENDING to a new valueless version, as the
// service does before invoking createSecret.
func (f *fakeAPI) startRotation(arn string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	token := fmt.Sprintf("00000000-0000-4000-8000-%012d", f.n)
	s := f.secrets[arn]
	s.versions[token] = &fakeVersion{}
	s.moveStage(stagePending, token)
	return token
}

// finishRotation is the service's finalisation: AWSPENDING is removed once
// it sits on the AWSCURRENT version.
func (f *fakeAPI) finishRotation(arn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.secrets[arn].versions {
		if slices.Contains(v.stages, stageCurrent) {
			v.stages = without(v.stages, stagePending)
		}
	}
}

// stages returns a copy of the staging labels.
func (f *fakeAPI) stages(arn string) map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for id, v := range f.secrets[arn].versions {
		out[id] = append([]string(nil), v.stages...)
	}
	return out
}

func (f *fakeAPI) DescribeSecret(_ context.Context, id string) (*rotation.Description, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.secret(id)
	if err != nil {
		return nil, err
	}
	d := &rotation.Description{ARN: s.arn, Name: s.arn, RotationEnabled: s.enabled, VersionIDsToStages: map[string][]string{}}
	for vid, v := range s.versions {
		if len(v.stages) > 0 {
			d.VersionIDsToStages[vid] = append([]string(nil), v.stages...)
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
	var v *fakeVersion
	if versionID != "" {
		v = s.versions[versionID]
		if v != nil && stage != "" && !slices.Contains(v.stages, stage) {
			v = nil
		}
	} else {
		if stage == "" {
			stage = stageCurrent
		}
		for _, x := range s.versions {
			if slices.Contains(x.stages, stage) {
				v = x
			}
		}
	}
	if v == nil || v.value == nil {
		return "", fmt.Errorf("version %q stage %q: %w", versionID, stage, rotation.ErrNotFound)
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
	v := s.versions[token]
	switch {
	case v == nil:
		val := value
		s.versions[token] = &fakeVersion{value: &val}
	case v.value == nil:
		val := value
		v.value = &val
	case *v.value != value:
		return fmt.Errorf("ResourceExistsException: version %s already exists with another value", token)
	}
	for _, st := range stages {
		s.moveStage(st, token)
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
	if s.versions[moveTo] == nil {
		return fmt.Errorf("version %s: %w", moveTo, rotation.ErrNotFound)
	}
	for vid, v := range s.versions {
		if vid != moveTo && slices.Contains(v.stages, stage) && vid != removeFrom {
			return fmt.Errorf("InvalidParameterException: stage %s is attached to version %s, not %q", stage, vid, removeFrom)
		}
	}
	s.moveStage(stage, moveTo)
	return nil
}

func (f *fakeAPI) GetRandomPassword(_ context.Context, o rotation.PasswordOptions) (string, error) {
	n := o.Length
	if n == 0 {
		n = 32
	}
	var alphabet []byte
	for c := byte(33); c < 127; c++ {
		if !strings.ContainsRune(o.ExcludeCharacters, rune(c)) {
			alphabet = append(alphabet, c)
		}
	}
	for {
		b := make([]byte, n)
		for i := range b {
			k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			if err != nil {
				return "", err
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
