package function

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/rotation"
	"github.com/coffer-dev/coffer/internal/storage"
)

// EntityKind is the storage.EntityKind of a function record.
const EntityKind storage.EntityKind = "function"

// Defaults of Config.
const (
	DefaultTimeout       = 60 * time.Second
	DefaultCredentialTTL = 5 * time.Minute
	// MaxLog bounds the log kept of one step.
	MaxLog = 64 << 10
	// MaxTimeout bounds a function's own timeout (Lambda's 15 minutes).
	MaxTimeout = 15 * time.Minute
)

// Config configures a Registry.
type Config struct {
	// Endpoint is coffer's URL as an exec function reaches it
	// (AWS_ENDPOINT_URL), e.g. "http://127.0.0.1:8080".
	Endpoint string
	// Root seals and opens the HMAC keys of URL functions (the root key).
	Root envelope.Wrapper
	// Partition of ARNs; "" is "aws".
	Partition string
	// Timeout of a step when the function sets none; 0 is DefaultTimeout.
	Timeout time.Duration
	// CredentialTTL is the life of an exec function's credentials; 0 is
	// DefaultCredentialTTL. It is raised to the step's timeout plus a
	// minute when shorter.
	CredentialTTL time.Duration
	// Trail, when set, receives the record of Create and Delete in their
	// own transactions: the audit.Pending in the context commits with the
	// change (the CLI's FunctionCreate and FunctionDelete records).
	Trail *audit.Trail
	// HTTPClient posts to URL functions; nil is a client that follows no
	// redirect. Its own Timeout, if any, also applies.
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Registry keeps the functions of every account and runs them.
type Registry struct {
	store storage.Store
	ids   *iam.Service
	cfg   Config
}

// New returns a Registry over store; ids issues exec functions'
// credentials.
func New(store storage.Store, ids *iam.Service, cfg Config) *Registry {
	if cfg.Partition == "" {
		cfg.Partition = "aws"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CredentialTTL <= 0 {
		cfg.CredentialTTL = DefaultCredentialTTL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Registry{store: store, ids: ids, cfg: cfg}
}

// Spec creates a function: exactly one of Exec and URL.
type Spec struct {
	Name string
	Exec []string // argv, run without a shell
	URL  string   // http:// or https://
	// Env adds variables to an exec function's environment (like a
	// Lambda function's environment variables).
	Env map[string]string
	// Timeout of each step; 0 is the registry's default.
	Timeout time.Duration
}

// Info describes a registered function (never its HMAC key).
type Info struct {
	Name    string
	ID      string
	Exec    []string
	URL     string
	Env     map[string]string
	Timeout time.Duration // 0: the registry's default
	Created time.Time
}

// record is the Doc of a function's entity.
type record struct {
	Exec      []string          `json:"exec,omitempty"`
	URL       string            `json:"url,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	TimeoutMS int64             `json:"timeoutMs,omitempty"`
	// HMAC is the URL function's key sealed by the root key, base64.
	HMAC string `json:"hmac,omitempty"`
}

// Errors of the registry; the CLI prints them.
var (
	ErrExists = errors.New("function: a function of that name already exists")
	// ErrNotFound is rotation.ErrNotFound: the function does not exist.
	ErrNotFound = rotation.ErrNotFound
)

var (
	// nameRE is Lambda's function name pattern.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	envRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// reserved are the variables coffer sets; a function's Env may not
// override them.
var reserved = map[string]bool{
	"PATH": true, "HOME": true, "AWS_ENDPOINT_URL": true, "SECRETS_MANAGER_ENDPOINT": true,
	"AWS_REGION": true, "AWS_DEFAULT_REGION": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
}

// validate checks a Spec; every problem at once.
func (s *Spec) validate() error {
	var errs []error
	if !nameRE.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("function name %q must be 1-64 letters, digits, '-' or '_'", s.Name))
	}
	switch {
	case len(s.Exec) > 0 && s.URL != "":
		errs = append(errs, errors.New("a function is either --exec or --url, not both"))
	case len(s.Exec) == 0 && s.URL == "":
		errs = append(errs, errors.New("a function needs --exec COMMAND or --url URL"))
	case len(s.Exec) > 0 && s.Exec[0] == "":
		errs = append(errs, errors.New("the command of --exec is empty"))
	case s.URL != "":
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--url %q must be an http:// or https:// URL", s.URL))
		}
		if len(s.Env) > 0 {
			errs = append(errs, errors.New("--env applies to --exec functions only"))
		}
	}
	for k := range s.Env {
		switch {
		case !envRE.MatchString(k):
			errs = append(errs, fmt.Errorf("environment variable name %q must be letters, digits and '_'", k))
		case reserved[k]:
			errs = append(errs, fmt.Errorf("environment variable %s is set by coffer", k))
		}
	}
	if s.Timeout != 0 && (s.Timeout < time.Second || s.Timeout > MaxTimeout) {
		errs = append(errs, fmt.Errorf("timeout %s must be between 1s and %s", s.Timeout, MaxTimeout))
	}
	return errors.Join(errs...)
}

// hmacAAD binds a sealed HMAC key to its function.
func hmacAAD(account, name, id string) []byte {
	return []byte("coffer/rotation/function-hmac/v1/" + account + "/" + strings.ToLower(name) + "/" + id)
}

// Create registers a function in account. For a URL function it returns
// the new HMAC key (base64), to be given to the receiver; it is not shown
// again. ErrExists when the name is taken.
func (r *Registry) Create(ctx context.Context, account string, s Spec) (info *Info, hmacKey string, err error) {
	if err := s.validate(); err != nil {
		return nil, "", err
	}
	idb := make([]byte, 16)
	if _, err := rand.Read(idb); err != nil {
		return nil, "", err
	}
	rec := record{Exec: s.Exec, URL: s.URL, Env: s.Env, TimeoutMS: s.Timeout.Milliseconds()}
	ent := &storage.Entity{
		Account: account, Kind: EntityKind, Name: s.Name, ID: "FN" + strings.ToUpper(hex.EncodeToString(idb)),
		Path: "/", Created: r.cfg.Now().UTC().Truncate(time.Millisecond),
	}
	if s.URL != "" {
		if r.cfg.Root == nil {
			return nil, "", errors.New("function: no root key to seal the HMAC key")
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, "", err
		}
		sealed, err := r.cfg.Root.Wrap(ctx, key, hmacAAD(account, s.Name, ent.ID))
		if err != nil {
			return nil, "", fmt.Errorf("function: seal the HMAC key: %w", err)
		}
		rec.HMAC = base64.StdEncoding.EncodeToString(sealed)
		hmacKey = base64.StdEncoding.EncodeToString(key)
		clear(key)
	}
	if ent.Doc, err = json.Marshal(&rec); err != nil {
		return nil, "", err
	}
	err = r.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Account(account); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("function: account %s does not exist", account)
			}
			return err
		}
		if err := tx.InsertEntity(ent); err != nil {
			return err
		}
		kind := "exec"
		if s.URL != "" {
			kind = "url"
		}
		return r.commitAudit(ctx, tx, map[string]any{"functionName": s.Name, "kind": kind})
	})
	if errors.Is(err, storage.ErrConflict) {
		return nil, "", fmt.Errorf("%w: %s", ErrExists, s.Name)
	}
	if err != nil {
		return nil, "", err
	}
	return toInfo(ent, &rec), hmacKey, nil
}

// commitAudit commits the pending record of ctx (the command's) in tx,
// when the registry has a trail and ctx a pending record.
func (r *Registry) commitAudit(ctx context.Context, tx storage.Tx, response map[string]any) error {
	p := audit.PendingFrom(ctx)
	if p == nil || r.cfg.Trail == nil {
		return nil
	}
	return p.Commit(tx, r.cfg.Trail, response)
}

func toInfo(e *storage.Entity, rec *record) *Info {
	return &Info{
		Name: e.Name, ID: e.ID, Exec: rec.Exec, URL: rec.URL, Env: rec.Env,
		Timeout: time.Duration(rec.TimeoutMS) * time.Millisecond, Created: e.Created,
	}
}

func decode(e *storage.Entity) (*record, error) {
	var rec record
	if err := json.Unmarshal(e.Doc, &rec); err != nil {
		return nil, fmt.Errorf("function %s: decode: %w", e.Name, err)
	}
	return &rec, nil
}

// List returns the functions of account ordered by name.
func (r *Registry) List(ctx context.Context, account string) ([]*Info, error) {
	var out []*Info
	err := r.store.View(ctx, func(tx storage.Tx) error {
		ents, err := tx.Entities(account, EntityKind)
		if err != nil {
			return err
		}
		for _, e := range ents {
			rec, err := decode(e)
			if err != nil {
				return err
			}
			out = append(out, toInfo(e, rec))
		}
		return nil
	})
	return out, err
}

// Get returns one function of account, or ErrNotFound.
func (r *Registry) Get(ctx context.Context, account, name string) (*Info, error) {
	e, rec, err := r.load(ctx, account, name)
	if err != nil {
		return nil, err
	}
	return toInfo(e, rec), nil
}

// Delete removes a function of account; ErrNotFound when absent.
func (r *Registry) Delete(ctx context.Context, account, name string) error {
	err := r.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.DeleteEntity(account, EntityKind, name); err != nil {
			return err
		}
		return r.commitAudit(ctx, tx, map[string]any{"functionName": name})
	})
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: function %s", ErrNotFound, name)
	}
	return err
}

func (r *Registry) load(ctx context.Context, account, name string) (*storage.Entity, *record, error) {
	var e *storage.Entity
	err := r.store.View(ctx, func(tx storage.Tx) (err error) {
		e, err = tx.Entity(account, EntityKind, name)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: function %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, nil, err
	}
	rec, err := decode(e)
	if err != nil {
		return nil, nil, err
	}
	return e, rec, nil
}

// functionName accepts a function's name or a Lambda function ARN
// (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]) of the
// account, as RotateSecret's RotationLambdaARN names one.
func (r *Registry) functionName(account, name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "arn:"+r.cfg.Partition+":lambda:")
	if !ok {
		return name, nameRE.MatchString(name)
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 4 || len(parts) > 5 || parts[1] != account || parts[2] != "function" {
		return "", false
	}
	return parts[3], nameRE.MatchString(parts[3])
}

// Lookup returns the function name (or Lambda ARN) of account;
// rotation.ErrNotFound when absent. Functions belong to an account, not a
// region: region is accepted for the contract and not used (an exec
// function's AWS_REGION is the region of the event's secret).
func (r *Registry) Lookup(ctx context.Context, account, _, name string) (rotation.Function, error) {
	fn, ok := r.functionName(account, name)
	if !ok {
		return nil, fmt.Errorf("%w: function %s", rotation.ErrNotFound, name)
	}
	e, rec, err := r.load(ctx, account, fn)
	if err != nil {
		return nil, err
	}
	timeout := time.Duration(rec.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = r.cfg.Timeout
	}
	if rec.URL != "" {
		if r.cfg.Root == nil || rec.HMAC == "" {
			return nil, fmt.Errorf("function %s: no HMAC key", e.Name)
		}
		sealed, err := base64.StdEncoding.DecodeString(rec.HMAC)
		if err != nil {
			return nil, fmt.Errorf("function %s: HMAC key: %w", e.Name, err)
		}
		key, err := r.cfg.Root.Unwrap(ctx, sealed, hmacAAD(account, e.Name, e.ID))
		if err != nil {
			return nil, fmt.Errorf("function %s: open the HMAC key: %w", e.Name, err)
		}
		return &URLFunc{Name: e.Name, URL: rec.URL, Key: key, Timeout: timeout, Client: r.cfg.HTTPClient, Now: r.cfg.Now}, nil
	}
	ttl := max(r.cfg.CredentialTTL, timeout+time.Minute)
	return &ExecFunc{
		Argv: rec.Exec, Env: rec.Env, Timeout: timeout,
		Environ: func(ctx context.Context, ev rotation.Event) ([]string, error) {
			return r.awsEnv(ctx, account, ev, ttl)
		},
	}, nil
}

// awsEnv issues the step's credentials and returns the AWS variables. The
// event's SecretId must be the ARN of a secret of the function's account;
// its region is the function's AWS_REGION (the region of the function's
// own ARN does not matter: functions are per account).
func (r *Registry) awsEnv(ctx context.Context, account string, ev rotation.Event, ttl time.Duration) ([]string, error) {
	if r.ids == nil {
		return nil, errors.New("function: no IAM service to issue credentials")
	}
	p := strings.SplitN(ev.SecretID, ":", 7)
	if len(p) != 7 || p[0] != "arn" || p[1] != r.cfg.Partition || p[2] != "secretsmanager" || p[3] == "" ||
		p[4] != account || p[5] != "secret" || p[6] == "" || strings.ContainsAny(ev.SecretID, "*?\"\\") {
		return nil, fmt.Errorf("function: the event's SecretId must be the ARN of a secret of account %s", account)
	}
	region := p[3]
	pol, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": ev.SecretID},
			{"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
		},
	})
	if err != nil {
		return nil, err
	}
	creds, err := r.ids.IssueSession(ctx, account, sessionName(ev.ClientRequestToken), string(pol), ttl)
	if err != nil {
		return nil, err
	}
	return []string{
		"AWS_ENDPOINT_URL=" + r.cfg.Endpoint,
		"SECRETS_MANAGER_ENDPOINT=" + r.cfg.Endpoint,
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + creds.SessionToken,
	}, nil
}

// sessionName names a step's session after its rotation token:
// "coffer-rotation-" and up to 32 of the token's name-safe characters.
func sessionName(token string) string {
	var b strings.Builder
	b.WriteString("coffer-rotation-")
	n := 0
	for _, c := range token {
		if n == 32 {
			break
		}
		if c < 0x80 && (c == '-' || c == '_' || c == '.' || c == '@' || c == '=' || c == '+' || c == ',' ||
			('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
			b.WriteRune(c)
			n++
		}
	}
	return b.String()
}

// defaultPath is PATH for exec functions when coffer has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

func hostPath() string {
	if p := os.Getenv("PATH"); p != "" {
		return p
	}
	return defaultPath
}
