package runenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the part of a dsops.yaml that coffer understands: secret stores
// of type aws.secretsmanager and environments mapping variables to secrets.
type Config struct {
	Stores   map[string]Store
	Envs     map[string][]Mapping
	Warnings []string // keys coffer ignores, for the user to see
}

// StoreType is the only dsops store type coffer reads from.
const StoreType = "aws.secretsmanager"

type dsopsFile struct {
	Version      any                             `yaml:"version"`
	SecretStores map[string]map[string]yaml.Node `yaml:"secretStores"`
	Providers    map[string]map[string]yaml.Node `yaml:"providers"`
	Envs         map[string]map[string]dsopsVar  `yaml:"envs"`
}

type dsopsVar struct {
	From      yaml.Node `yaml:"from"`
	Literal   *string   `yaml:"literal"`
	Transform string    `yaml:"transform"`
	Optional  bool      `yaml:"optional"`
}

// LoadConfig reads a dsops.yaml file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses the text of a dsops.yaml. Unknown store types and
// transforms are refused; every problem is reported at once.
func ParseConfig(b []byte) (*Config, error) {
	var f dsopsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil && err != io.EOF {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	c := &Config{Stores: map[string]Store{}, Envs: map[string][]Mapping{}}
	var errs []error
	addStores := func(section string, m map[string]map[string]yaml.Node) {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			if _, dup := c.Stores[name]; dup {
				errs = append(errs, fmt.Errorf("store %q is defined twice", name))
				continue
			}
			s, warns, err := parseStore(name, m[name])
			for _, w := range warns {
				c.Warnings = append(c.Warnings, section+"."+name+": "+w)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", section, name, err))
				continue
			}
			c.Stores[name] = s
		}
	}
	addStores("secretStores", f.SecretStores)
	addStores("providers", f.Providers)

	for _, env := range slices.Sorted(maps.Keys(f.Envs)) {
		vars := f.Envs[env]
		ms := []Mapping{}
		for _, name := range slices.Sorted(maps.Keys(vars)) {
			m, err := c.parseVar(name, vars[name])
			if err != nil {
				errs = append(errs, fmt.Errorf("envs.%s.%s: %w", env, name, err))
				continue
			}
			ms = append(ms, m)
		}
		c.Envs[env] = ms
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Env returns the mappings of one environment.
func (c *Config) Env(name string) ([]Mapping, error) {
	ms, ok := c.Envs[name]
	if !ok {
		names := slices.Sorted(maps.Keys(c.Envs))
		if len(names) == 0 {
			return nil, fmt.Errorf("environment %q not found: the file defines no envs", name)
		}
		return nil, fmt.Errorf("environment %q not found (the file defines: %s)", name, strings.Join(names, ", "))
	}
	return ms, nil
}

func parseStore(name string, m map[string]yaml.Node) (Store, []string, error) {
	s := Store{Name: name, DefaultRegion: "us-east-1"} // dsops's default region
	str := func(key string) (string, error) {
		n := m[key]
		if n.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("%s must be a string", key)
		}
		return n.Value, nil
	}
	typ, ok := m["type"]
	if !ok {
		return s, nil, errors.New("no type: coffer reads stores of type " + StoreType)
	}
	if typ.Value != StoreType {
		return s, nil, fmt.Errorf("store type %q is not supported: coffer reads only stores of type %s", typ.Value, StoreType)
	}
	var warns []string
	for _, key := range slices.Sorted(maps.Keys(m)) {
		var err error
		switch key {
		case "type":
		case "region":
			s.Region, err = str(key)
		case "profile":
			s.Profile, err = str(key)
		case "endpoint":
			s.Endpoint, err = str(key)
		case "role_arn":
			s.RoleARN, err = str(key)
		case "external_id":
			s.ExternalID, err = str(key)
		case "access_key_id":
			var v string
			v, err = str(key)
			s.AccessKeyID = os.ExpandEnv(v)
		case "secret_access_key":
			var v string
			v, err = str(key)
			s.SecretAccessKey = os.ExpandEnv(v)
		case "timeout_ms":
			var v string
			if v, err = str(key); err == nil {
				ms, perr := strconv.Atoi(v)
				if perr != nil || ms < 0 {
					err = errors.New("timeout_ms must be a non-negative integer")
				}
				s.Timeout = time.Duration(ms) * time.Millisecond
			}
		default:
			warns = append(warns, fmt.Sprintf("option %q is ignored by coffer", key))
		}
		if err != nil {
			return s, warns, err
		}
	}
	if s.ExternalID != "" && s.RoleARN == "" {
		return s, warns, errors.New("external_id needs role_arn")
	}
	return s, warns, nil
}

func (c *Config) parseVar(name string, v dsopsVar) (Mapping, error) {
	m := Mapping{Var: name, Optional: v.Optional}
	if !ValidVarName(name) {
		return m, errors.New("not a valid environment variable name")
	}
	ts, err := ParseTransforms(v.Transform)
	if err != nil {
		return m, err
	}
	m.Transforms = ts
	if v.Literal != nil && (*v.Literal != "" || v.From.Kind == 0) { // dsops: a literal wins
		m.Literal = v.Literal
		m.Source = "literal"
		return m, nil
	}
	var store, key, version string
	switch v.From.Kind {
	case 0:
		return m, errors.New("no from: (or literal:)")
	case yaml.ScalarNode:
		store, key, version, err = c.parseFromString(v.From.Value)
		if err != nil {
			return m, err
		}
	case yaml.MappingNode:
		var from struct {
			Store    string `yaml:"store"`
			Provider string `yaml:"provider"`
			Key      string `yaml:"key"`
			Version  string `yaml:"version"`
			Service  string `yaml:"service"`
		}
		if err := v.From.Decode(&from); err != nil {
			return m, fmt.Errorf("from: %w", err)
		}
		if from.Service != "" {
			return m, errors.New("from.service references are for rotation, not for reading secrets")
		}
		store, key, version = from.Store, from.Key, from.Version
		if store == "" {
			store = from.Provider
		}
		if strings.HasPrefix(store, "store://") {
			if key != "" {
				return m, errors.New("from.store is a store:// reference and from.key is set too")
			}
			store, key, version, err = c.parseFromString(store)
			if err != nil {
				return m, err
			}
			if from.Version != "" {
				version = from.Version
			}
		}
	default:
		return m, errors.New("from must be a mapping {store, key, version} or a store:// reference")
	}
	if store == "" {
		return m, errors.New("from.store is missing")
	}
	if key == "" {
		return m, errors.New("from.key is missing")
	}
	if _, ok := c.Stores[store]; !ok {
		return m, fmt.Errorf("unknown store %q (defined: %s)", store, strings.Join(slices.Sorted(maps.Keys(c.Stores)), ", "))
	}
	m.Store = store
	m.Source = store + ":" + key
	// dsops's AWS provider takes "name#.field" as a JSON field of the secret.
	id, field, hasField := strings.Cut(key, "#")
	m.Ref.SecretID = id
	if hasField {
		if m.Ref.Field, err = ParseFieldPath(field); err != nil {
			return m, err
		}
	}
	switch {
	case version == "" || version == "latest":
	case isVersionID(version):
		m.Ref.VersionID = version
		m.Source += "@version:" + version
	default:
		m.Ref.VersionStage = version
		m.Source += "@" + version
	}
	return m, nil
}

// parseFromString reads "store://NAME/KEY[?version=V]" or, when the file has
// exactly one store, a bare secret id.
func (c *Config) parseFromString(s string) (store, key, version string, err error) {
	rest, ok := strings.CutPrefix(s, "store://")
	if !ok {
		if len(c.Stores) != 1 {
			return "", "", "", fmt.Errorf("from %q names no store; write from: {store: NAME, key: %s}", s, s)
		}
		for name := range c.Stores {
			store = name
		}
		return store, s, "", nil
	}
	store, key, _ = strings.Cut(rest, "/")
	if q := strings.LastIndexByte(key, '?'); q >= 0 {
		vals, perr := url.ParseQuery(key[q+1:])
		if perr != nil {
			return "", "", "", fmt.Errorf("from %q: bad query: %w", s, perr)
		}
		for k := range vals {
			if k != "version" {
				return "", "", "", fmt.Errorf("from %q: option %q is not supported", s, k)
			}
		}
		version = vals.Get("version")
		key = key[:q]
	}
	return store, key, version, nil
}

// isVersionID follows dsops: a 36-character value with four dashes (a UUID)
// is a version id, anything else a staging label.
func isVersionID(v string) bool {
	return len(v) == 36 && strings.Count(v, "-") == 4
}
