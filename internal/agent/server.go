package agent

import (
	"bytes"
	"container/list"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// API is the part of the Secrets Manager client the agent uses.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Server answers the AWS Secrets Manager Agent's HTTP requests from an
// in-memory cache.
type Server struct {
	cfg      Config
	client   API
	token    string
	log      *slog.Logger
	now      func() time.Time
	inflight atomic.Int64

	mu    sync.Mutex
	lru   *list.List // of *entry, most recent first
	items map[key]*list.Element
}

type key struct{ secretID, versionID, versionStage string }

type entry struct {
	key     key
	value   *Output
	fetched time.Time
}

// Output is GetSecretValue's result as the AWS agent serializes it: these
// members in this order, SecretString, SecretBinary (base64) and
// VersionStages omitted when absent, CreatedDate as a string of seconds.
type Output struct {
	ARN           *string  `json:"ARN"`
	Name          *string  `json:"Name"`
	VersionID     *string  `json:"VersionId"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	VersionStages []string `json:"VersionStages,omitempty"`
	CreatedDate   *string  `json:"CreatedDate"`
}

// String keeps values out of logs.
func (o *Output) String() string { return "agent.Output(REDACTED)" }

// New returns a server. token is the SSRF token requests must carry.
func New(cfg Config, client API, token string, log *slog.Logger) *Server {
	return &Server{cfg: cfg, client: client, token: token, log: log, now: time.Now,
		lru: list.New(), items: map[key]*list.Element{}}
}

// httpError is a status and a body, as the AWS agent writes them.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return strconv.Itoa(e.status) + " " + e.body }

func plain(status int, msg string) *httpError { return &httpError{status, msg} }

// errBody formats an error as the AWS agent does (awsJson 1.1).
func errBody(code, msg string) string {
	if msg == "" || code == "InternalFailure" {
		return `{"__type":"InternalFailure"}`
	}
	c, _ := json.Marshal(code)
	m, _ := json.Marshal(msg)
	return `{"__type":` + string(c) + `, "message":` + string(m) + `}`
}

var internalFailure = &httpError{500, errBody("InternalFailure", "")}

// ServeHTTP implements the AWS agent's routes: /ping (no token needed),
// /secretsmanager/get and <path_prefix><secretId>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	body, err := s.handle(r, n)
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = internalFailure
		}
		w.WriteHeader(he.status)
		_, _ = w.Write([]byte(he.body))
		return
	}
	_, _ = w.Write(body)
}

func (s *Server) handle(r *http.Request, inflight int64) ([]byte, error) {
	path := r.URL.Path
	limit := int64(s.cfg.MaxConn)
	if path == "/ping" {
		limit += 2
	}
	if inflight > limit {
		return nil, plain(429, "Connection limit exceeded")
	}
	if path != "/ping" {
		if r.Header.Get("X-Forwarded-For") != "" {
			s.log.Warn("rejecting a request with an X-Forwarded-For header")
			return nil, plain(400, "Forwarded")
		}
		if !s.tokenOK(r.Header) {
			s.log.Warn("rejecting a request with a missing or wrong SSRF token")
			return nil, plain(403, "Bad Token")
		}
	}
	if r.Method != http.MethodGet {
		return nil, plain(405, "Not allowed")
	}
	var q query
	var err error
	switch {
	case path == "/ping":
		return []byte("healthy"), nil
	case path == "/secretsmanager/get":
		q, err = parseQuery(r.URL.RawQuery, true)
	case strings.HasPrefix(path, s.cfg.PathPrefix):
		q, err = parseQuery(r.URL.RawQuery, false)
		q.secretID = strings.TrimPrefix(path, s.cfg.PathPrefix)
		if err == nil && q.secretID == "" {
			err = plain(400, "missing secret ID")
		}
	default:
		return nil, plain(404, "Not found")
	}
	if err != nil {
		return nil, err
	}
	out, err := s.Get(r.Context(), q.secretID, q.versionID, q.versionStage, q.refreshNow)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, internalFailure
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (s *Server) tokenOK(h http.Header) bool {
	for _, name := range s.cfg.SSRFHeaders {
		for _, v := range h.Values(name) {
			if subtle.ConstantTimeCompare([]byte(v), []byte(s.token)) == 1 {
				return true
			}
		}
	}
	return false
}

type query struct {
	secretID, versionID, versionStage string
	refreshNow                        bool
}

func parseQuery(raw string, wantID bool) (query, error) {
	var q query
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, plain(400, "invalid query")
	}
	for k, vs := range vals {
		v := vs[len(vs)-1]
		switch {
		case k == "secretId" && wantID:
			q.secretID = v
		case k == "versionId":
			q.versionID = v
		case k == "versionStage":
			q.versionStage = v
		case k == "refreshNow":
			switch strings.ToLower(v) {
			case "true", "1":
				q.refreshNow = true
			case "false", "0":
			default:
				return q, plain(400, "invalid refreshNow value")
			}
		default:
			return q, plain(400, "unknown parameter: "+k)
		}
	}
	if wantID && q.secretID == "" {
		return q, plain(400, "missing parameter secretId")
	}
	return q, nil
}

// Get returns a secret version from the cache or Secrets Manager, following
// the AWS agent: a fresh entry (younger than the TTL) is served as is; an
// expired one is checked with DescribeSecret and served again only if its
// version still holds the requested label (so no value is served past the
// TTL when the server answers); refreshNow always calls GetSecretValue.
// When Secrets Manager cannot be reached (timeouts, connection errors, 5xx)
// and IgnoreTransientErrors is set, an expired entry is served again.
func (s *Server) Get(ctx context.Context, secretID, versionID, versionStage string, refreshNow bool) (*Output, error) {
	k := key{secretID, versionID, versionStage}
	if refreshNow {
		return s.refresh(ctx, k, nil)
	}
	cached, fetched, ok := s.lookup(k)
	if !ok {
		return s.refresh(ctx, k, nil)
	}
	if s.now().Sub(fetched) <= s.cfg.TTL && s.cfg.TTL > 0 {
		return cached, nil
	}
	return s.refresh(ctx, k, cached)
}

func (s *Server) refresh(ctx context.Context, k key, cached *Output) (*Output, error) {
	if cached != nil {
		current, err := s.isCurrent(ctx, k, cached)
		if err != nil {
			return nil, s.apiError(err)
		}
		if current {
			s.store(k, cached)
			return cached, nil
		}
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(k.secretID)}
	if k.versionID != "" {
		in.VersionId = aws.String(k.versionID)
	}
	if k.versionStage != "" {
		in.VersionStage = aws.String(k.versionStage)
	}
	res, err := s.client.GetSecretValue(ctx, in)
	if err != nil {
		if cached != nil && s.cfg.IgnoreTransientErrors && transient(err) {
			s.log.Warn("serving a cached secret after a transient error", "secret_id", k.secretID, "err", shortError(err))
			s.store(k, cached)
			return cached, nil
		}
		return nil, s.apiError(err)
	}
	out := &Output{ARN: res.ARN, Name: res.Name, VersionID: res.VersionId, SecretString: res.SecretString,
		SecretBinary: res.SecretBinary, VersionStages: res.VersionStages}
	if res.CreatedDate != nil {
		secs := strconv.FormatFloat(float64(res.CreatedDate.UnixMilli())/1000, 'f', -1, 64)
		out.CreatedDate = &secs
	}
	s.store(k, out)
	return out, nil
}

// isCurrent asks DescribeSecret whether the cached version still is the one
// requested.
func (s *Server) isCurrent(ctx context.Context, k key, cached *Output) (bool, error) {
	id := k.secretID
	if cached.ARN != nil {
		id = *cached.ARN
	}
	d, err := s.client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		if s.cfg.IgnoreTransientErrors && transient(err) {
			s.log.Warn("serving a cached secret after a transient error", "secret_id", k.secretID, "err", shortError(err))
			return true, nil
		}
		return false, err
	}
	if len(d.VersionIdsToStages) == 0 {
		return false, nil
	}
	if k.versionID != "" && k.versionStage == "" {
		_, ok := d.VersionIdsToStages[k.versionID]
		return ok, nil
	}
	vid := k.versionID
	if vid == "" && cached.VersionID != nil {
		vid = *cached.VersionID
	}
	stage := k.versionStage
	if stage == "" {
		stage = "AWSCURRENT"
	}
	return slices.Contains(d.VersionIdsToStages[vid], stage), nil
}

func (s *Server) lookup(k key) (*Output, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[k]
	if !ok {
		return nil, time.Time{}, false
	}
	s.lru.MoveToFront(el)
	e := el.Value.(*entry)
	return e.value, e.fetched, true
}

func (s *Server) store(k key, v *Output) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[k]; ok {
		e := el.Value.(*entry)
		e.value, e.fetched = v, s.now()
		s.lru.MoveToFront(el)
		return
	}
	s.items[k] = s.lru.PushFront(&entry{k, v, s.now()})
	for s.lru.Len() > s.cfg.CacheSize {
		last := s.lru.Back()
		s.lru.Remove(last)
		delete(s.items, last.Value.(*entry).key)
	}
}

// transient follows the AWS caching library: timeouts, connection errors,
// unreadable responses and 5xx statuses.
func transient(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		var ae smithy.APIError
		return re.HTTPStatusCode() >= 500 || !errors.As(err, &ae)
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// apiError maps an SDK error to the AWS agent's response: the service's
// code, message and status; 504 TimeoutError for timeouts; 502
// ConnectionError when the service cannot be reached or answers garbage.
func (s *Server) apiError(err error) error {
	var re *awshttp.ResponseError
	var ae smithy.APIError
	if errors.As(err, &re) && errors.As(err, &ae) {
		if ae.ErrorCode() == "" || ae.ErrorMessage() == "" {
			return internalFailure
		}
		return &httpError{re.HTTPStatusCode(), errBody(ae.ErrorCode(), ae.ErrorMessage())}
	}
	if errors.As(err, &re) {
		return &httpError{502, errBody("ConnectionError", "Response Error")}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &httpError{504, errBody("TimeoutError", "Timeout")}
	}
	if errors.As(err, &ne) {
		return &httpError{502, errBody("ConnectionError", "Read Error")}
	}
	s.log.Error("unexpected error from Secrets Manager", "err", shortError(err))
	return internalFailure
}

// shortError drops the SDK's request ids; SDK errors carry no secret value.
func shortError(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}
