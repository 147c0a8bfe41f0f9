package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/rotation"
)

// secretDict is the secret's JSON object. It is kept as a map so keys the
// rotator does not know are preserved when the new version is written, as
// the templates do (they copy the whole dict).
type secretDict map[string]any

// errInvalidSecret marks a secret JSON that fails the template's
// validation (its KeyError/ValueError); the message never holds a value.
var errInvalidSecret = errors.New("invalid secret JSON")

func parseSecret(s string) (secretDict, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var d secretDict
	if err := dec.Decode(&d); err != nil || d == nil {
		// The decoder's error may quote part of the value: do not wrap it.
		return nil, fmt.Errorf("%w: not a JSON object", errInvalidSecret)
	}
	for _, k := range []string{"host", "username", "password", "engine"} {
		v, ok := d[k]
		if !ok {
			return nil, fmt.Errorf("%w: %s key is missing from secret JSON", errInvalidSecret, k)
		}
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("%w: %s must be a string", errInvalidSecret, k)
		}
	}
	switch d.str("engine") {
	case "postgres", "aurora-postgresql":
	default:
		return nil, fmt.Errorf("%w: database engine must be set to 'postgres' in order to use this rotation function", errInvalidSecret)
	}
	if _, err := d.port(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d secretDict) str(k string) string {
	s, _ := d[k].(string)
	return s
}

func (d secretDict) marshal() (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any(d)); err != nil {
		return "", errors.New("postgres rotation: cannot encode the new secret JSON")
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// port is the template's int(secret_dict['port']), default 5432; a number
// or a numeric string.
func (d secretDict) port() (uint16, error) {
	v, ok := d["port"]
	if !ok {
		return 5432, nil
	}
	var s string
	switch p := v.(type) {
	case json.Number:
		s = p.String()
	case string:
		s = strings.TrimSpace(p)
	default:
		return 0, fmt.Errorf("%w: port must be a number", errInvalidSecret)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: port must be a number between 1 and 65535", errInvalidSecret)
	}
	return uint16(n), nil
}

// dbname: the template defaults to "postgres" when dbname is absent or null.
func (d secretDict) dbname() string {
	if s, ok := d["dbname"].(string); ok {
		return s
	}
	return "postgres"
}

// sslConfig is the template's get_ssl_config: (useSSL, fallBack).
func (d secretDict) sslConfig() (bool, bool) {
	v, ok := d["ssl"]
	if !ok {
		return true, true
	}
	switch s := v.(type) {
	case bool:
		return s, false
	case string:
		switch strings.ToLower(s) {
		case "true":
			return true, false
		case "false":
			return false, false
		}
	}
	return true, true
}

// connect is the template's get_connection: TLS with certificate and host
// name verification first, plaintext as a fallback when the secret does not
// say. It returns the connection or the last error (which holds no password).
func (r *Rotator) connect(ctx context.Context, d secretDict) (*pgx.Conn, error) {
	useSSL, fallBack := d.sslConfig()
	conn, err := r.connectOnce(ctx, d, useSSL)
	if err == nil || !fallBack {
		return conn, err
	}
	return r.connectOnce(ctx, d, false)
}

func dsnQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (r *Rotator) connectOnce(ctx context.Context, d secretDict, useSSL bool) (*pgx.Conn, error) {
	port, err := d.port()
	if err != nil {
		return nil, err
	}
	mode := "disable"
	if useSSL {
		mode = "verify-full"
	}
	// The password is set on the parsed config, never in the string.
	dsn := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=%s",
		dsnQuote(d.str("host")), port, dsnQuote(d.str("username")), dsnQuote(d.dbname()), mode)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres rotation: connection settings for user %q on host %q are invalid", d.str("username"), d.str("host"))
	}
	cfg.Password = d.str("password")
	timeout := r.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	cfg.ConnectTimeout = timeout
	cfg.RuntimeParams["application_name"] = "coffer-rotation"
	dial := r.dial
	if dial == nil {
		dial = pgx.ConnectConfig
	}
	return dial(ctx, cfg)
}

// getSecret is the template's get_secret_dict.
func (r *Rotator) getSecret(ctx context.Context, id, versionID, stage string) (secretDict, error) {
	s, err := r.api.GetSecretValue(ctx, id, versionID, stage)
	if err != nil {
		return nil, err
	}
	d, err := parseSecret(s)
	if err != nil {
		what := stage
		if versionID != "" {
			what = versionID + " (" + stage + ")"
		}
		return nil, fmt.Errorf("postgres rotation: secret %s %s: %w", id, what, err)
	}
	return d, nil
}

// isNotFound is the templates' ResourceNotFoundException.
func isNotFound(err error) bool { return errors.Is(err, rotation.ErrNotFound) }
