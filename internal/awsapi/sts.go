package awsapi

// This file serves the one STS operation clients call against a Secrets
// Manager endpoint: GetCallerIdentity (chamber on every write, the AWS
// Secrets Manager Agent at start-up, Terraform's provider check). It speaks
// the AWS Query protocol on the same listener:
//
//	POST /
//	Content-Type: application/x-www-form-urlencoded; charset=utf-8
//	Authorization: AWS4-HMAC-SHA256 Credential=AKIA.../20250101/us-east-1/sts/aws4_request, ...
//
//	Action=GetCallerIdentity&Version=2011-06-15
//
// and answers in XML (text/xml). Errors use the Query protocol's
// <ErrorResponse> document and STS's codes and statuses, which differ from
// the awsJson ones: InvalidClientTokenId, SignatureDoesNotMatch and
// MissingAuthenticationToken are HTTP 403.
//
// Decisions for docs/COMPATIBILITY.md:
//
//   - Routing: a request without X-Amz-Target goes to STS when its
//     Content-Type is application/x-www-form-urlencoded, when the credential
//     scope of its Authorization header names the service "sts", or when its
//     query string carries an Action parameter (Query GET). Everything else
//     stays on the awsJson path.
//   - The signature is checked exactly as for Secrets Manager (same
//     verifier, scope service "sts"), so the clock window is ±5 minutes,
//     not STS's 15; the skew messages say "5 min.".
//   - Authentication comes before the Action is looked at, as for Secrets
//     Manager (BEHAVIOUR.md §2.2 step 10).
//   - Parameters are read from the query string and, for a form-encoded
//     body, from the body; for a repeated name the first value counts.
//   - No Action: MissingAction (400) "Missing Action". An Action other than
//     GetCallerIdentity, or GetCallerIdentity with a Version other than
//     2011-06-15 (or none): InvalidAction (400) "Could not find operation
//     <Action> for version <Version>". A body that is not valid form
//     encoding: MalformedQueryString (404, the status of AWS's common-errors
//     table). A body over 1 MiB: RequestEntityTooLarge (413). Texts of these
//     four were not recorded from STS.
//   - UserId is the account id for an account's root principal, as AWS
//     answers; coffer has no other principals yet.
//   - An unexpected failure is InternalFailure (500, Type Receiver), logged
//     and never described to the client.

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coffer-dev/coffer/internal/awsapi/sigv4"
	"github.com/coffer-dev/coffer/internal/secrets"
)

const (
	stsService   = "sts"
	stsVersion   = "2011-06-15"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	formType     = "application/x-www-form-urlencoded"
)

// stsError is an error as the Query protocol sends it.
type stsError struct {
	Code    string
	Status  int
	Message string
}

func (e *stsError) Error() string { return e.Code + ": " + e.Message }

// isSTS reports whether r is an STS (AWS Query protocol) call rather than a
// Secrets Manager (awsJson) one. See the routing decision above.
func isSTS(r *http.Request) bool {
	if len(r.Header["X-Amz-Target"]) > 0 {
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == formType {
		return true
	}
	if scopeService(r.Header.Get("Authorization")) == stsService {
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

// serveSTS handles one STS call. ServeHTTP sends every request for which
// isSTS is true here, before anything else.
func (h *Handler) serveSTS(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)

	action, body, err := h.stsCall(r, reqID)
	status := http.StatusOK
	if err != nil {
		se, known := toSTSError(err)
		if !known {
			h.log.ErrorContext(r.Context(), "internal error", "service", stsService, "action", action,
				"request_id", reqID, "err", err)
		}
		status = se.Status
		body = stsErrorXML(se, reqID)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/xml")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.DebugContext(r.Context(), "request", "service", stsService, "action", action, "status", status,
			"request_id", reqID, "duration", time.Since(start))
	}
}

// stsCall authenticates r, runs its action and returns the action's name and
// its XML response.
func (h *Handler) stsCall(r *http.Request, reqID string) (action string, out []byte, err error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", nil, &stsError{"MalformedQueryString", http.StatusNotFound, "The request body could not be read."}
	}
	if len(body) > maxBody {
		return "", nil, &stsError{"RequestEntityTooLarge", http.StatusRequestEntityTooLarge, "Request entity too large."}
	}
	caller, err := h.authenticate(r, body, stsService)
	if err != nil {
		return "", nil, err
	}
	params, err := stsParams(r, body)
	if err != nil {
		return "", nil, err
	}
	action, version := params.Get("Action"), params.Get("Version")
	switch {
	case action == "":
		return "", nil, &stsError{"MissingAction", http.StatusBadRequest, "Missing Action"}
	case action != "GetCallerIdentity" || version != stsVersion:
		return action, nil, &stsError{"InvalidAction", http.StatusBadRequest,
			"Could not find operation " + action + " for version " + version}
	}
	return action, getCallerIdentityXML(caller, reqID), nil
}

// stsParams collects the Query protocol parameters of r: the query string,
// then a form-encoded body.
func stsParams(r *http.Request, body []byte) (url.Values, error) {
	malformed := &stsError{"MalformedQueryString", http.StatusNotFound, "The query string is malformed."}
	params := url.Values{}
	if r.URL != nil && r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, malformed
		}
		params = q
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == formType {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, malformed
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	return params, nil
}

// toSTSError maps an error of stsCall to its Query protocol form. The
// authentication failures keep sigv4's texts under STS's codes.
func toSTSError(err error) (*stsError, bool) {
	var se *stsError
	if errors.As(err, &se) {
		return se, true
	}
	var ve *sigv4.Error
	if errors.As(err, &ve) {
		switch ve.Code {
		case sigv4.CodeIncompleteSignature:
			return &stsError{"IncompleteSignature", http.StatusBadRequest, ve.Message}, true
		case sigv4.CodeInvalidSignature:
			return &stsError{"SignatureDoesNotMatch", http.StatusForbidden, ve.Message}, true
		case sigv4.CodeMissingAuthenticationToken:
			return &stsError{"MissingAuthenticationToken", http.StatusForbidden, "Request is missing Authentication Token"}, true
		case sigv4.CodeUnrecognizedClient:
			return &stsError{"InvalidClientTokenId", http.StatusForbidden, ve.Message}, true
		case sigv4.CodeExpiredToken:
			return &stsError{"ExpiredToken", http.StatusForbidden, ve.Message}, true
		}
	}
	return &stsError{"InternalFailure", http.StatusInternalServerError, "An internal error occurred."}, false
}

// getCallerIdentityXML renders GetCallerIdentity's answer as STS does.
func getCallerIdentityXML(c secrets.Caller, reqID string) []byte {
	userID := c.Account // the root principal's UserId is its account id
	var b bytes.Buffer
	b.WriteString(`<GetCallerIdentityResponse xmlns="` + stsNamespace + `">` + "\n")
	b.WriteString("  <GetCallerIdentityResult>\n")
	xmlElement(&b, "    ", "Arn", c.Principal)
	xmlElement(&b, "    ", "UserId", userID)
	xmlElement(&b, "    ", "Account", c.Account)
	b.WriteString("  </GetCallerIdentityResult>\n")
	b.WriteString("  <ResponseMetadata>\n")
	xmlElement(&b, "    ", "RequestId", reqID)
	b.WriteString("  </ResponseMetadata>\n")
	b.WriteString("</GetCallerIdentityResponse>\n")
	return b.Bytes()
}

// stsErrorXML renders a Query protocol error document as STS does
// (recorded: aws-azure-login/aws-azure-login#251).
func stsErrorXML(e *stsError, reqID string) []byte {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + stsNamespace + `">` + "\n")
	b.WriteString("  <Error>\n")
	xmlElement(&b, "    ", "Type", typ)
	xmlElement(&b, "    ", "Code", e.Code)
	xmlElement(&b, "    ", "Message", e.Message)
	b.WriteString("  </Error>\n")
	xmlElement(&b, "  ", "RequestId", reqID)
	b.WriteString("</ErrorResponse>\n")
	return b.Bytes()
}

func xmlElement(b *bytes.Buffer, indent, name, text string) {
	b.WriteString(indent + "<" + name + ">")
	b.WriteString(xmlText(text))
	b.WriteString("</" + name + ">\n")
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
