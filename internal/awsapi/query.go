package awsapi

// This file is the AWS Query protocol that IAM and STS speak on the same
// listener as Secrets Manager: a form-encoded POST (or a GET with a query
// string) carrying Action, Version and the operation's members, answered in
// XML. It holds what both services share: routing by the SigV4 credential
// scope, parameter decoding and model validation, the XML writer, paging and
// the error document. iam.go and sts.go hold each service's operations.
//
// Decisions for docs/COMPATIBILITY.md:
//
//   - Routing: a Query request goes to IAM when the credential scope of its
//     Authorization header names the service "iam", to STS otherwise (also
//     when it is unsigned, which STS then refuses).
//   - Members are validated against the botocore model's constraints that
//     matter (required, length, pattern, enum, numeric range) with AWS's
//     "N validation error(s) detected: ..." text, before the domain is
//     called. A number or boolean that does not parse is a ValidationError
//     "Value 'x' at 'maxItems' failed to satisfy constraint: Member must be
//     a number" / "... Member must be a boolean" (AWS's text for these was
//     not recorded). List members are read as Name.member.1, .2, ... up to
//     the first missing index; a bare "Name=" is an empty list.
//   - Paging: the domain answers whole lists; the front door pages them.
//     MaxItems defaults to 100 (1..1000); Marker is an opaque token of the
//     position (base64 of the offset). A Marker that is not one of ours is
//     a ValidationError "Invalid Marker." (AWS's text unknown). A list
//     changed between pages may skip or repeat an item, as with AWS.
//   - Parameters that change what a call would grant and that coffer does
//     not implement (permissions boundaries, session tags, policy ARNs on
//     AssumeRole, MFA) are refused rather than ignored (InvalidInput for IAM,
//     ValidationError for STS), so a caller never gets more than it asked.
//   - An unexpected failure is ServiceFailure (IAM) or InternalFailure (STS),
//     HTTP 500, Type Receiver; it is logged and never described.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/awsapi/sigv4"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/metrics"
)

const formType = "application/x-www-form-urlencoded"

// queryService describes one service on the Query protocol.
type queryService struct {
	name      string // SigV4 scope service: "iam", "sts"
	version   string // the API version clients send
	namespace string // the xmlns of every document
	// eventSource is the audit records' eventSource: "iam.amazonaws.com".
	eventSource string
	internal    string // code of an unexpected failure
	ops         map[string]queryOp
	// statuses maps the codes of *iam.Error the service answers with to
	// their HTTP status; any other code is an internal failure.
	statuses map[string]int
}

// queryOp runs one action: it reads and validates its members from p (the
// whole set at once, see params.err), calls the domain and returns what
// writes the <ActionResult> element, or nil for actions without one.
type queryOp func(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error)

// queryError is an error as the Query protocol sends it.
type queryError struct {
	Code    string
	Status  int
	Message string
}

func (e *queryError) Error() string { return e.Code + ": " + e.Message }

func validationError(msg string) *queryError {
	return &queryError{"ValidationError", http.StatusBadRequest, msg}
}

// isSTS reports whether r is an IAM or STS (AWS Query protocol) call rather
// than a Secrets Manager (awsJson) one: it has no X-Amz-Target and is
// form-encoded, signed for "sts" or "iam", or carries an Action in its
// query string.
func isSTS(r *http.Request) bool {
	if len(r.Header["X-Amz-Target"]) > 0 {
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == formType {
		return true
	}
	if s := scopeService(r.Header.Get("Authorization")); s == stsService || s == iamService {
		return true
	}
	return r.URL != nil && hasParam(r.URL.RawQuery, "Action")
}

// scopeService returns the service of the credential scope of a SigV4
// Authorization header ("" if there is none). It only routes; sigv4.Parse
// does the checking.
func scopeService(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(cred, ", \t"); i >= 0 {
		cred = cred[:i]
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

func hasParam(rawQuery, name string) bool {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}

// serveSTS handles one Query protocol call, IAM or STS. ServeHTTP sends
// every request for which isSTS is true here, before anything else.
func (h *Handler) serveSTS(w http.ResponseWriter, r *http.Request) {
	svc := stsQuery
	if scopeService(r.Header.Get("Authorization")) == iamService {
		svc = iamQuery
	}
	start := time.Now()
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)
	action := ""
	errCode := "" // the <Code> of an error response, for metrics
	defer func() { metrics.ObserveRequest(svc.name, svc.metricOp(action), errCode, time.Since(start)) }()
	r, pending := h.beginAudit(r, reqID, svc.eventSource, "")
	defer func() {
		// A bug must cost one request, not the process. Only the panic's
		// type is logged: its value could hold request data.
		if p := recover(); p != nil {
			h.log.ErrorContext(r.Context(), "panic serving request", "service", svc.name, "action", action,
				"request_id", reqID, "panic_type", fmt.Sprintf("%T", p))
			qe := svc.internalError()
			if err := h.finishAudit(r.Context(), pending, qe.Code, qe.Message, nil); err != nil {
				h.log.ErrorContext(r.Context(), "audit failed", "service", svc.name, "request_id", reqID, "err", err)
			}
			errCode = qe.Code
			writeQuery(w, http.StatusInternalServerError, queryErrorXML(svc, qe, reqID))
		}
	}()

	var body []byte
	var err error
	action, body, err = h.queryCall(r, svc, reqID)
	status := http.StatusOK
	if err != nil {
		qe, known := svc.toQueryError(err)
		if !known {
			h.log.ErrorContext(r.Context(), "internal error", "service", svc.name, "action", action,
				"request_id", reqID, "err", err)
		}
		if aerr := h.finishAudit(r.Context(), pending, qe.Code, qe.Message, nil); aerr != nil {
			h.log.ErrorContext(r.Context(), "audit failed", "service", svc.name, "action", action,
				"request_id", reqID, "err", aerr)
			qe = svc.internalError()
		}
		status = qe.Status
		errCode = qe.Code
		body = queryErrorXML(svc, qe, reqID)
	} else if aerr := h.finishAudit(r.Context(), pending, "", "", nil); aerr != nil {
		// Fail closed: no record, no answer (never fresh credentials).
		h.log.ErrorContext(r.Context(), "audit failed", "service", svc.name, "action", action,
			"request_id", reqID, "err", aerr)
		qe := svc.internalError()
		status = qe.Status
		errCode = qe.Code
		body = queryErrorXML(svc, qe, reqID)
	}
	writeQuery(w, status, body)
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.DebugContext(r.Context(), "request", "service", svc.name, "action", action, "status", status,
			"request_id", reqID, "duration", time.Since(start))
	}
}

// metricOp is action's metrics label: its name when svc has it, else
// "Unknown" (the label set must not grow with what clients send).
func (svc *queryService) metricOp(action string) string {
	if _, ok := svc.ops[action]; ok {
		return action
	}
	return "Unknown"
}

func writeQuery(w http.ResponseWriter, status int, body []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/xml")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// queryCall authenticates r, runs its action and returns the action's name
// and its XML response.
func (h *Handler) queryCall(r *http.Request, svc *queryService, reqID string) (action string, out []byte, err error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", nil, &queryError{"MalformedQueryString", http.StatusNotFound, "The request body could not be read."}
	}
	if len(body) > maxBody {
		return "", nil, &queryError{"RequestEntityTooLarge", http.StatusRequestEntityTooLarge, "Request entity too large."}
	}
	// Parsed once, before authentication: the record names the action even
	// when authentication refuses it, and a refusal comes before a
	// malformed query string.
	values, perr := queryParams(r, body)
	if p := audit.PendingFrom(r.Context()); p != nil && perr == nil {
		rec := p.Record()
		rec.EventName = values.Get("Action")
		rec.ReadOnly = readOnlyEvent(rec.EventName)
		rec.RequestParameters = queryParamsForAudit(values)
	}
	caller, err := h.authenticate(r, body, svc.name)
	if err != nil {
		return "", nil, err
	}
	if perr != nil {
		return "", nil, perr
	}
	action, version := values.Get("Action"), values.Get("Version")
	if action == "" {
		return "", nil, &queryError{"MissingAction", http.StatusBadRequest, "Missing Action"}
	}
	op, ok := svc.ops[action]
	if !ok || version != svc.version {
		return action, nil, &queryError{"InvalidAction", http.StatusBadRequest,
			"Could not find operation " + action + " for version " + version}
	}
	result, err := op(r.Context(), h, caller, &params{v: values})
	if err != nil {
		return action, nil, err
	}
	return action, queryResponseXML(svc, action, reqID, result), nil
}

// queryParams collects the Query protocol parameters of r: the query string,
// then a form-encoded body.
func queryParams(r *http.Request, body []byte) (url.Values, error) {
	malformed := &queryError{"MalformedQueryString", http.StatusNotFound, "The query string is malformed."}
	values := url.Values{}
	if r.URL != nil && r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, malformed
		}
		values = q
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == formType {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, malformed
		}
		for k, v := range form {
			values[k] = append(values[k], v...)
		}
	}
	return values, nil
}

// toQueryError maps an error of queryCall to its Query protocol form and
// reports whether it was an expected one. The authentication failures keep
// sigv4's texts under the Query services' codes.
func (svc *queryService) toQueryError(err error) (*queryError, bool) {
	var qe *queryError
	if errors.As(err, &qe) {
		return qe, true
	}
	var ie *iam.Error
	if errors.As(err, &ie) {
		if status, ok := svc.statuses[ie.Code]; ok {
			return &queryError{ie.Code, status, ie.Message}, true
		}
	}
	var ve *sigv4.Error
	if errors.As(err, &ve) {
		switch ve.Code {
		case sigv4.CodeIncompleteSignature:
			return &queryError{"IncompleteSignature", http.StatusBadRequest, ve.Message}, true
		case sigv4.CodeInvalidSignature:
			return &queryError{"SignatureDoesNotMatch", http.StatusForbidden, ve.Message}, true
		case sigv4.CodeMissingAuthenticationToken:
			return &queryError{"MissingAuthenticationToken", http.StatusForbidden, "Request is missing Authentication Token"}, true
		case sigv4.CodeUnrecognizedClient:
			return &queryError{"InvalidClientTokenId", http.StatusForbidden, ve.Message}, true
		case sigv4.CodeExpiredToken:
			return &queryError{"ExpiredToken", http.StatusForbidden, ve.Message}, true
		}
	}
	return svc.internalError(), false
}

// internalError is what an unexpected failure answers: nothing about it.
func (svc *queryService) internalError() *queryError {
	return &queryError{svc.internal, http.StatusInternalServerError, "An internal error occurred."}
}

// xmlWriter writes an XML document indented as AWS's Query services do: two
// spaces a level, one element a line.
type xmlWriter struct {
	b     bytes.Buffer
	depth int
}

func (w *xmlWriter) indent() {
	for range w.depth {
		w.b.WriteString("  ")
	}
}

// start opens an element that holds elements.
func (w *xmlWriter) start(name string) {
	w.indent()
	w.b.WriteString("<" + name + ">\n")
	w.depth++
}

// end closes what start opened.
func (w *xmlWriter) end(name string) {
	w.depth--
	w.indent()
	w.b.WriteString("</" + name + ">\n")
}

// empty writes an element without content (an empty list).
func (w *xmlWriter) empty(name string) {
	w.indent()
	w.b.WriteString("<" + name + "/>\n")
}

// elem writes an element holding text.
func (w *xmlWriter) elem(name, text string) {
	w.indent()
	w.b.WriteString("<" + name + ">" + xmlText(text) + "</" + name + ">\n")
}

func (w *xmlWriter) time(name string, t time.Time) { w.elem(name, awsTime(t)) }
func (w *xmlWriter) bool(name string, v bool)      { w.elem(name, strconv.FormatBool(v)) }
func (w *xmlWriter) int(name string, v int)        { w.elem(name, strconv.Itoa(v)) }

// list writes a list of n members: <name><member>...</member></name>, or
// <name/> when n is 0. each writes the content of member i.
func (w *xmlWriter) list(name string, n int, each func(i int)) {
	if n == 0 {
		w.empty(name)
		return
	}
	w.start(name)
	for i := range n {
		w.start("member")
		each(i)
		w.end("member")
	}
	w.end(name)
}

// stringList writes a list of strings as <name><member>s</member>...</name>.
func (w *xmlWriter) stringList(name string, items []string) {
	if len(items) == 0 {
		w.empty(name)
		return
	}
	w.start(name)
	for _, s := range items {
		w.elem("member", s)
	}
	w.end(name)
}

// awsTime formats a timestamp as the Query services do: ISO 8601, UTC,
// whole seconds.
func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// queryResponseXML renders a successful answer: <ActionResponse> with the
// result (if any) and the request id.
func queryResponseXML(svc *queryService, action, reqID string, result func(*xmlWriter)) []byte {
	w := &xmlWriter{}
	w.b.WriteString("<" + action + `Response xmlns="` + svc.namespace + `">` + "\n")
	w.depth = 1
	if result != nil {
		w.start(action + "Result")
		result(w)
		w.end(action + "Result")
	}
	w.start("ResponseMetadata")
	w.elem("RequestId", reqID)
	w.end("ResponseMetadata")
	w.b.WriteString("</" + action + "Response>\n")
	return w.b.Bytes()
}

// queryErrorXML renders a Query protocol error document as IAM and STS do
// (recorded: aws-azure-login/aws-azure-login#251).
func queryErrorXML(svc *queryService, e *queryError, reqID string) []byte {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	w := &xmlWriter{}
	w.b.WriteString(`<ErrorResponse xmlns="` + svc.namespace + `">` + "\n")
	w.depth = 1
	w.start("Error")
	w.elem("Type", typ)
	w.elem("Code", e.Code)
	w.elem("Message", e.Message)
	w.end("Error")
	w.elem("RequestId", reqID)
	w.b.WriteString("</ErrorResponse>\n")
	return w.b.Bytes()
}

// xmlEscaper escapes what character data needs, as AWS's XML writer does:
// quotes and apostrophes stay as they are ("'sts'" in a message).
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")

// xmlText escapes text for an element; bytes that are not UTF-8 and
// characters XML 1.0 forbids (messages may quote a client's header) become
// U+FFFD.
func xmlText(text string) string {
	text = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != utf8.RuneError && r != 0xFFFE && r != 0xFFFF) {
			return r
		}
		return '\uFFFD'
	}, strings.ToValidUTF8(text, "\uFFFD"))
	return xmlEscaper.Replace(text)
}

// urlEncodeDocument encodes a policy document as IAM returns it: every
// byte but the unreserved ones percent-encoded, spaces as %20 (the aws CLI
// decodes with urllib's unquote, Terraform with url.QueryUnescape; both
// read %20 and %2B right).
func urlEncodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

// rule is a botocore model constraint on a string member.
type rule struct {
	min, max int // length in characters; max 0: unbounded
	re       *regexp.Regexp
	pattern  string // the model's pattern, as AWS's message quotes it
	enum     []string
}

// newRule compiles a rule; goRE is pattern in Go's syntax.
func newRule(min, max int, pattern, goRE string, enum ...string) *rule {
	r := &rule{min: min, max: max, pattern: pattern, enum: enum}
	if goRE != "" {
		r.re = regexp.MustCompile(`^(?:` + goRE + `)$`)
	}
	return r
}

// params reads one request's members and collects the validation failures
// of all of them, as AWS reports them together.
type params struct {
	v     url.Values
	errs  []string
	lists map[string]map[int]bool // list name -> member indexes present
}

// raw returns the first value of name and whether it is present.
func (p *params) raw(name string) (string, bool) {
	vs, ok := p.v[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// fail records a validation failure of the member at path.
func (p *params) fail(value *string, path, constraint string) {
	v := "null"
	if value != nil {
		v = "'" + *value + "'"
	}
	p.errs = append(p.errs, "Value "+v+" at '"+path+"' failed to satisfy constraint: "+constraint)
}

// check validates a present value against r.
func (p *params) check(path, v string, r *rule) {
	if r == nil {
		return
	}
	n := utf8.RuneCountInString(v)
	if n < r.min {
		p.fail(&v, path, "Member must have length greater than or equal to "+strconv.Itoa(r.min))
	}
	if r.max > 0 && n > r.max {
		p.fail(&v, path, "Member must have length less than or equal to "+strconv.Itoa(r.max))
	}
	if r.re != nil && !r.re.MatchString(v) {
		p.fail(&v, path, "Member must satisfy regular expression pattern: "+r.pattern)
	}
	if len(r.enum) > 0 {
		ok := false
		for _, e := range r.enum {
			ok = ok || v == e
		}
		if !ok {
			p.fail(&v, path, "Member must satisfy enum value set: ["+strings.Join(r.enum, ", ")+"]")
		}
	}
}

// memberPath is the name AWS's messages give a member: lower camel case.
func memberPath(name string) string {
	if name == "" {
		return name
	}
	return strings.ToLower(name[:1]) + name[1:]
}

// str reads an optional string member.
func (p *params) str(name string, r *rule) string {
	v, ok := p.raw(name)
	if ok {
		p.check(memberPath(name), v, r)
	}
	return v
}

// need reads a required string member.
func (p *params) need(name string, r *rule) string {
	v, ok := p.raw(name)
	if !ok {
		p.fail(nil, memberPath(name), "Member must not be null")
		return ""
	}
	p.check(memberPath(name), v, r)
	return v
}

// integer reads an optional integer member within [min, max]; 0 when absent.
func (p *params) integer(name string, min, max int) int {
	v, ok := p.raw(name)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	path := memberPath(name)
	switch {
	case err != nil:
		p.fail(&v, path, "Member must be a number")
	case n < min:
		p.fail(&v, path, "Member must have value greater than or equal to "+strconv.Itoa(min))
	case n > max:
		p.fail(&v, path, "Member must have value less than or equal to "+strconv.Itoa(max))
	}
	return n
}

// boolean reads an optional boolean member ("true" or "false"); false when
// absent.
func (p *params) boolean(name string) bool {
	v, ok := p.raw(name)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	p.fail(&v, memberPath(name), "Member must be a boolean")
	return false
}

// listLen returns how many members the list name holds (Name.member.1,
// Name.member.2, ... up to the first gap) and whether the list is present
// at all (a bare "Name=" is an empty list).
func (p *params) listLen(name string) (n int, present bool) {
	if p.lists == nil {
		p.indexLists()
	}
	_, present = p.v[name]
	for p.lists[name][n+1] {
		n++
	}
	return n, present || n > 0
}

// indexLists records, in one pass over the parameter names, which member
// indexes every list has: "A.member.1.B.member.2" gives A {1} and
// A.member.1.B {2}. A request of many members costs linear time.
func (p *params) indexLists() {
	p.lists = make(map[string]map[int]bool)
	const sep = ".member."
	for k := range p.v {
		for off := 0; ; {
			i := strings.Index(k[off:], sep)
			if i < 0 {
				break
			}
			list := k[:off+i]
			rest := k[off+i+len(sep):]
			idx, _, _ := strings.Cut(rest, ".")
			if n, err := strconv.Atoi(idx); err == nil && n >= 1 {
				if p.lists[list] == nil {
					p.lists[list] = make(map[int]bool)
				}
				p.lists[list][n] = true
			}
			off += i + len(sep)
		}
	}
}

// strings reads a list of strings; required lists must be present.
func (p *params) strings(name string, required bool, r *rule) []string {
	n, present := p.listLen(name)
	if !present {
		if required {
			p.fail(nil, memberPath(name), "Member must not be null")
		}
		return nil
	}
	out := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		v, _ := p.raw(name + ".member." + strconv.Itoa(i))
		p.check(memberPath(name)+"."+strconv.Itoa(i)+".member", v, r)
		out = append(out, v)
	}
	return out
}

// Tag rules, from the IAM model (tagKeyType, tagValueType).
var (
	tagKeyRule   = newRule(1, 128, `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`, `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
	tagValueRule = newRule(0, 256, `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`, `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
)

// tags reads Tags.member.N.Key / .Value.
func (p *params) tags(required bool) []iam.Tag {
	n, present := p.listLen("Tags")
	if !present {
		if required {
			p.fail(nil, "tags", "Member must not be null")
		}
		return nil
	}
	out := make([]iam.Tag, 0, n)
	for i := 1; i <= n; i++ {
		prefix := "Tags.member." + strconv.Itoa(i) + "."
		path := "tags." + strconv.Itoa(i) + ".member."
		var t iam.Tag
		var ok bool
		if t.Key, ok = p.raw(prefix + "Key"); ok {
			p.check(path+"key", t.Key, tagKeyRule)
		} else {
			p.fail(nil, path+"key", "Member must not be null")
		}
		if t.Value, ok = p.raw(prefix + "Value"); ok {
			p.check(path+"value", t.Value, tagValueRule)
		} else {
			p.fail(nil, path+"value", "Member must not be null")
		}
		out = append(out, t)
	}
	return out
}

// unsupported refuses members coffer does not implement, where ignoring
// them could grant more than the caller asked for.
func (p *params) unsupported(code string, names ...string) error {
	for _, name := range names {
		for k := range p.v {
			if k == name || strings.HasPrefix(k, name+".") {
				return &queryError{code, http.StatusBadRequest, "coffer does not support the parameter " + name + "."}
			}
		}
	}
	return nil
}

// err returns the collected validation failures as one ValidationError,
// worded as AWS words it, or nil.
func (p *params) err() error {
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return validationError("1 validation error detected: " + p.errs[0])
	default:
		return validationError(strconv.Itoa(len(p.errs)) + " validation errors detected: " + strings.Join(p.errs, "; "))
	}
}

// paging is a list request's Marker and MaxItems.
type paging struct {
	offset, max int
	badMarker   bool
}

var markerRule = newRule(1, 320, `[\u0020-\u00FF]+`, `[\x{20}-\x{FF}]+`)

// paging reads Marker and MaxItems.
func (p *params) paging() paging {
	pg := paging{max: 100}
	if m, ok := p.raw("Marker"); ok {
		p.check("marker", m, markerRule)
		pg.offset, pg.badMarker = decodeMarker(m)
	}
	if _, ok := p.raw("MaxItems"); ok {
		pg.max = p.integer("MaxItems", 1, 1000)
	}
	return pg
}

func encodeMarker(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("coffer:" + strconv.Itoa(offset)))
}

func decodeMarker(m string) (offset int, bad bool) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil {
		return 0, true
	}
	s, ok := strings.CutPrefix(string(b), "coffer:")
	if !ok {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, true
	}
	return n, false
}

// page cuts one page of n items: [from, to), and the next Marker ("" when
// this is the last page).
func (pg paging) page(n int) (from, to int, next string, err error) {
	if pg.badMarker || pg.offset > n {
		return 0, 0, "", validationError("Invalid Marker.")
	}
	from, to = pg.offset, min(n, pg.offset+max(pg.max, 1))
	if to < n {
		next = encodeMarker(to)
	}
	return from, to, next, nil
}

// truncation writes IsTruncated and, on a truncated page, Marker.
func (w *xmlWriter) truncation(next string) {
	w.bool("IsTruncated", next != "")
	if next != "" {
		w.elem("Marker", next)
	}
}
