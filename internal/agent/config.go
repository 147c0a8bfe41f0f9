// Package agent is coffer's local caching agent: an HTTP server on the
// loopback interface that speaks the AWS Secrets Manager Agent's interface
// (GET /secretsmanager/get?secretId=..., GET /v1/<secretId>, the
// X-Aws-Parameters-Secrets-Token SSRF header, TTL and refreshNow), so
// applications written for the AWS agent work unchanged against coffer or
// AWS.
//
// It is a pure Secrets Manager client built on aws-sdk-go-v2 and never
// imports coffer's server-side packages. Cached values live in memory only.
//
// Only internal/cli imports it.
package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config mirrors the AWS agent's configuration file (TOML) and defaults.
type Config struct {
	HTTPAddress           string // must be a loopback address
	HTTPPort              int
	TTL                   time.Duration
	CacheSize             int
	SSRFHeaders           []string
	SSRFEnvVariables      []string
	PathPrefix            string
	MaxConn               int
	Region                string
	IgnoreTransientErrors bool
	ValidateCredentials   bool
	LogLevel              string
}

// DefaultConfig returns the AWS agent's defaults.
func DefaultConfig() Config {
	return Config{
		HTTPAddress:           "127.0.0.1",
		HTTPPort:              2773,
		TTL:                   300 * time.Second,
		CacheSize:             1000,
		SSRFHeaders:           []string{"X-Aws-Parameters-Secrets-Token", "X-Vault-Token"},
		SSRFEnvVariables:      []string{"AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"},
		PathPrefix:            "/v1/",
		MaxConn:               800,
		IgnoreTransientErrors: true,
		ValidateCredentials:   true,
		LogLevel:              "info",
	}
}

// Validate checks the ranges the AWS agent enforces and that the listener
// stays on the loopback interface. It returns every problem at once.
func (c Config) Validate() error {
	var errs []error
	if ip := net.ParseIP(c.HTTPAddress); ip == nil || !ip.IsLoopback() {
		errs = append(errs, fmt.Errorf("http_address %q: the agent listens on a loopback address only", c.HTTPAddress))
	}
	if c.HTTPPort != 0 && (c.HTTPPort < 1024 || c.HTTPPort > 65535) {
		errs = append(errs, fmt.Errorf("http_port %d: use 1024-65535 (or 0 for a free port)", c.HTTPPort))
	}
	if c.TTL < 0 || c.TTL > time.Hour {
		errs = append(errs, fmt.Errorf("ttl %v: use 0 to 3600 seconds", c.TTL))
	}
	if c.CacheSize < 1 || c.CacheSize > 1000 {
		errs = append(errs, fmt.Errorf("cache_size %d: use 1-1000", c.CacheSize))
	}
	if c.MaxConn < 1 || c.MaxConn > 1000 {
		errs = append(errs, fmt.Errorf("max_conn %d: use 1-1000", c.MaxConn))
	}
	if len(c.SSRFHeaders) == 0 {
		errs = append(errs, errors.New("ssrf_headers must not be empty"))
	}
	if len(c.SSRFEnvVariables) == 0 {
		errs = append(errs, errors.New("ssrf_env_variables must not be empty"))
	}
	if !strings.HasPrefix(c.PathPrefix, "/") {
		errs = append(errs, fmt.Errorf("path_prefix %q must start with /", c.PathPrefix))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error", "none":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: use debug, info, warn, error or none", c.LogLevel))
	}
	return errors.Join(errs...)
}

// Token returns the SSRF token: the first of SSRFEnvVariables that is set;
// a value "file://PATH" is read from PATH (trimmed), as the AWS agent does.
func (c Config) Token(lookup func(string) (string, bool)) (string, error) {
	for _, name := range c.SSRFEnvVariables {
		v, ok := lookup(name)
		if !ok {
			continue
		}
		if path, isFile := strings.CutPrefix(v, "file://"); isFile {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("reading the SSRF token from %s: %w", name, err)
			}
			v = strings.TrimSpace(string(b))
		}
		if v == "" {
			return "", fmt.Errorf("the SSRF token in %s is empty", name)
		}
		return v, nil
	}
	return "", fmt.Errorf("no SSRF token: set one of %s (a value or file://PATH)", strings.Join(c.SSRFEnvVariables, ", "))
}

// LoadFile applies an AWS agent configuration file (the TOML subset it
// uses: key = value lines with strings, integers, booleans and arrays of
// strings) over c. Unknown keys are refused, as the AWS agent does.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return c.parse(b)
}

func (c *Config) parse(b []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(stripComment(sc.Text()))
		if text == "" {
			continue
		}
		key, val, ok := strings.Cut(text, "=")
		if !ok {
			return fmt.Errorf("line %d: want key = value", line)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if err := c.set(key, val); err != nil {
			return fmt.Errorf("line %d: %s: %w", line, key, err)
		}
	}
	return sc.Err()
}

func stripComment(s string) string {
	inStr := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inStr = !inStr
		case '#':
			if !inStr {
				return s[:i]
			}
		}
	}
	return s
}

func (c *Config) set(key, val string) error {
	str := func() (string, error) {
		if len(val) >= 2 && (val[0] == '"' && val[len(val)-1] == '"' || val[0] == '\'' && val[len(val)-1] == '\'') {
			if val[0] == '"' {
				return strconv.Unquote(val)
			}
			return val[1 : len(val)-1], nil
		}
		return "", errors.New("want a quoted string")
	}
	num := func() (int, error) { // the AWS agent takes numbers as strings too
		if s, err := str(); err == nil {
			val = s
		}
		return strconv.Atoi(val)
	}
	boolean := func() (bool, error) { return strconv.ParseBool(val) }
	list := func() ([]string, error) {
		if !strings.HasPrefix(val, "[") || !strings.HasSuffix(val, "]") {
			return nil, errors.New("want an array of strings")
		}
		var out []string
		for _, item := range strings.Split(strings.TrimSpace(val[1:len(val)-1]), ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			v := val
			val = item
			s, err := str()
			val = v
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	var err error
	switch key {
	case "log_level":
		c.LogLevel, err = str()
	case "log_to_file":
		_, err = boolean() // coffer logs to stderr
	case "http_address":
		c.HTTPAddress, err = str()
	case "http_port":
		c.HTTPPort, err = num()
	case "ttl_seconds":
		var n int
		n, err = num()
		c.TTL = time.Duration(n) * time.Second
	case "cache_size":
		c.CacheSize, err = num()
	case "ssrf_headers":
		c.SSRFHeaders, err = list()
	case "ssrf_env_variables":
		c.SSRFEnvVariables, err = list()
	case "path_prefix":
		c.PathPrefix, err = str()
	case "max_conn":
		c.MaxConn, err = num()
	case "region":
		c.Region, err = str()
	case "ignore_transient_errors":
		c.IgnoreTransientErrors, err = boolean()
	case "validate_credentials":
		c.ValidateCredentials, err = boolean()
	default:
		return errors.New("unknown configuration key")
	}
	return err
}
