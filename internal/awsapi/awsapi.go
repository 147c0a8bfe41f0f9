// Package awsapi is coffer's front door: the AWS Secrets Manager API on the
// awsJson 1.1 wire protocol. It verifies the SigV4 signature of every request,
// dispatches on X-Amz-Target, decodes and validates the generated wire types
// (package smapi), calls the domain (package secrets) and writes responses and
// errors exactly as AWS does.
//
// Every call leaves exactly one audit record, durable before the response
// (audit.go). Only internal/server imports it. It may import secrets, iam,
// audit and policy types; it never imports storage, envelope, seal or a
// SQL driver.
package awsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/awsapi/sigv4"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/secrets"
)

// maxBody bounds a request body: the largest legal request (a 64 KiB binary
// secret, base64-encoded, plus members) is far below it.
const maxBody = 1 << 20

const (
	targetPrefix = "secretsmanager."
	contentType  = "application/x-amz-json-1.1"
)

// Config is what a Handler needs.
type Config struct {
	Secrets *secrets.Service
	IAM     *iam.Service
	Now     func() time.Time // nil: time.Now
	Logger  *slog.Logger     // nil: discard
	// Trail records every call (audit.go); nil only when auditing is
	// turned off for benchmarks.
	Trail *audit.Trail
	// Region is the server's region, the record's awsRegion until a
	// request's signature names one.
	Region string
}

// Handler serves the Secrets Manager API.
type Handler struct {
	secrets  *secrets.Service
	iam      *iam.Service
	verifier *sigv4.Verifier
	log      *slog.Logger
	trail    *audit.Trail
	region   string
	now      func() time.Time
}

// New returns the API handler.
func New(cfg Config) *Handler {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		secrets:  cfg.Secrets,
		iam:      cfg.IAM,
		verifier: sigv4.NewVerifier(now, 5*time.Minute),
		now:      now,
		log:      log,
		trail:    cfg.Trail,
		region:   cfg.Region,
	}
}

// ServeHTTP handles one API call.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isSTS(r) {
		h.serveSTS(w, r) // STS Query protocol on the same listener (sts.go)
		return
	}
	start := time.Now()
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)
	// Runs last, after the panic handler: every response, error or not, is
	// counted with the code writeError put in X-Amzn-ErrorType.
	defer observeRequest(w, r, start)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	r, pending := h.beginAudit(r, reqID, smEventSource, op)
	defer func() {
		// A bug must cost one request, not the process. Only the panic's
		// type is logged: its value could hold request data.
		if p := recover(); p != nil {
			h.log.ErrorContext(r.Context(), "panic serving request", "request_id", reqID, "panic_type", fmt.Sprintf("%T", p))
			ae := errInternal()
			if err := h.finishAudit(r.Context(), pending, ae.Code, ae.Message, nil); err != nil {
				h.log.ErrorContext(r.Context(), "audit failed", "op", op, "request_id", reqID, "err", err)
			}
			writeError(w, ae)
		}
	}()

	out, err := h.serve(r, op)
	status := http.StatusOK
	if err != nil {
		ae, known := toAPIError(err)
		if !known {
			h.log.ErrorContext(r.Context(), "internal error", "op", op, "request_id", reqID, "err", err)
		}
		if aerr := h.finishAudit(r.Context(), pending, ae.Code, ae.Message, nil); aerr != nil {
			h.log.ErrorContext(r.Context(), "audit failed", "op", op, "request_id", reqID, "err", aerr)
			ae = errInternal()
		}
		status = ae.Status
		writeError(w, ae)
	} else if aerr := h.finishAudit(r.Context(), pending, "", "", out); aerr != nil {
		// Fail closed: no record, no answer (and never a read's value).
		h.log.ErrorContext(r.Context(), "audit failed", "op", op, "request_id", reqID, "err", aerr)
		status = http.StatusInternalServerError
		writeError(w, errInternal())
	} else {
		writeJSON(w, http.StatusOK, out)
	}
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.DebugContext(r.Context(), "request", "op", op, "status", status,
			"request_id", reqID, "duration", time.Since(start))
	}
}

func (h *Handler) serve(r *http.Request, op string) (any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errSerialization("The request body could not be read.")
	}
	if len(body) > maxBody {
		return nil, errTooLarge()
	}
	ic, err := h.authenticate(r, body, "secretsmanager")
	if err != nil {
		return nil, err
	}
	caller := secrets.Caller{Account: ic.Identity.Principal.Account, Region: ic.Request.Region, Identity: ic.Identity, Request: ic.Request}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("X-Amz-Target"), targetPrefix) {
		return nil, errUnknownOperation()
	}
	fn, ok := operations[op]
	if !ok {
		return nil, errUnknownOperation()
	}
	return fn(r.Context(), h, caller, body)
}

// authenticate verifies the request's SigV4 signature for service and
// returns the caller: its identity (policies, tags) and what the request
// says of itself for condition keys.
func (h *Handler) authenticate(r *http.Request, body []byte, service string) (iam.Caller, error) {
	req, err := sigv4.Parse(r, service)
	if err != nil {
		return iam.Caller{}, err
	}
	auditKey(r.Context(), req.AccessKeyID, req.Region)
	cred, err := h.iam.LookupAccessKey(r.Context(), req.AccessKeyID, req.SecurityToken)
	switch {
	case errors.Is(err, iam.ErrExpiredToken):
		return iam.Caller{}, sigv4.ExpiredToken()
	case errors.Is(err, iam.ErrUnknownKey):
		return iam.Caller{}, sigv4.UnrecognizedClient()
	case err != nil:
		return iam.Caller{}, err
	}
	if err := h.verifier.Verify(req, r, body, cred.Secret()); err != nil {
		return iam.Caller{}, err
	}
	id, err := h.iam.Identity(r.Context(), cred.Principal)
	if err != nil {
		return iam.Caller{}, err
	}
	caller := iam.Caller{Identity: id, Request: h.requestContext(r, req.Region)}
	auditCaller(r.Context(), caller)
	return caller, nil
}

// requestContext is what a request says of itself, for the global
// condition keys (aws:SourceIp, aws:SecureTransport, ...). aws:SourceIp is
// the address of the connection's peer: coffer does not trust forwarding
// headers.
func (h *Handler) requestContext(r *http.Request, region string) iam.RequestContext {
	return iam.RequestContext{
		SourceIP:        remoteIP(r),
		SecureTransport: r.TLS != nil,
		UserAgent:       r.UserAgent(),
		Region:          region,
		Now:             h.now().UTC(),
	}
}

// decode parses an awsJson request body into in. An empty body is {}.
// Messages never quote the body, which may hold a secret value.
func decode(body []byte, in any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return errSerialization("Unexpected value type for member " + te.Field + ".")
		}
		return errSerialization("The request body is not a valid JSON object.")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeError(w, errInternal())
		return
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	body := map[string]string{"__type": e.Code}
	if e.Message != "" {
		if e.Framework {
			body["message"] = e.Message
		} else {
			body["Message"] = e.Message
		}
	}
	writeJSON(w, e.Status, body)
}

// observeRequest counts one Secrets Manager call in package metrics: its
// operation (when the table has it, else "Unknown"), the error code of
// its response (none for a success) and its duration. It reads both from
// the request and response headers, so that it does not allocate.
func observeRequest(w http.ResponseWriter, r *http.Request, start time.Time) {
	op := "Unknown"
	if t := r.Header["X-Amz-Target"]; len(t) == 1 && strings.HasPrefix(t[0], targetPrefix) {
		if name := t[0][len(targetPrefix):]; operations[name] != nil {
			op = name
		}
	}
	code := ""
	if c := w.Header()["X-Amzn-Errortype"]; len(c) > 0 {
		code = c[0]
	}
	metrics.ObserveRequest("secretsmanager", op, code, time.Since(start))
}

// remoteIP is the address of the connection's peer, without its port.
func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
