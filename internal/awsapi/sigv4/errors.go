package sigv4

import (
	"strconv"
	"time"
)

// AWS error codes of authentication failures. AWS answers all of them with
// HTTP 400 for this service (BEHAVIOUR.md §1.3.1); the status is the
// caller's business.
const (
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeExpiredToken               = "ExpiredTokenException"
)

// Error is an authentication failure with the AWS error code and message to
// send. Code is one of the Code* constants. Message is AWS's text verbatim,
// including AWS's capitals and trailing spaces; it never holds a secret.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// MissingAuthenticationToken is the answer to a request without an
// Authorization header (BEHAVIOUR.md §2.2 step 1).
func MissingAuthenticationToken() *Error {
	return &Error{CodeMissingAuthenticationToken, "Missing Authentication Token"}
}

// UnrecognizedClient is the answer to an unknown access key id or a session
// token that does not belong to the key (BEHAVIOUR.md §2.2 step 5). Parse and
// Verify never return it; the caller does, after its key lookup.
func UnrecognizedClient() *Error {
	return &Error{CodeUnrecognizedClient, "The security token included in the request is invalid."}
}

// ExpiredToken is the answer to an expired session token (BEHAVIOUR.md §2.2
// step 5). AWS's text has no final full stop.
func ExpiredToken() *Error {
	return &Error{CodeExpiredToken, "The security token included in the request is expired"}
}

// SignatureMismatch is the answer when the recomputed signature differs from
// the one sent. AWS JSON services may append the expected canonical request
// and string to sign; coffer never does.
func SignatureMismatch() *Error {
	return &Error{CodeInvalidSignature, "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
}

// SignatureExpired is the answer to a request older than the allowed skew:
// "Signature expired: <request> is now earlier than <now-skew> (<now> - 5 min.)".
func SignatureExpired(reqTime, now time.Time, maxSkew time.Duration) *Error {
	now = now.UTC().Truncate(time.Second)
	return &Error{CodeInvalidSignature, "Signature expired: " + isoBasic(reqTime) +
		" is now earlier than " + isoBasic(now.Add(-maxSkew)) +
		" (" + isoBasic(now) + " - " + skewText(maxSkew) + ".)"}
}

// SignatureNotYetCurrent is the answer to a request dated further in the
// future than the allowed skew:
// "Signature not yet current: <request> is still later than <now+skew> (<now> + 5 min.)".
func SignatureNotYetCurrent(reqTime, now time.Time, maxSkew time.Duration) *Error {
	now = now.UTC().Truncate(time.Second)
	return &Error{CodeInvalidSignature, "Signature not yet current: " + isoBasic(reqTime) +
		" is still later than " + isoBasic(now.Add(maxSkew)) +
		" (" + isoBasic(now) + " + " + skewText(maxSkew) + ".)"}
}

// The remaining constructors produce Parse's answers. Texts follow AWS
// recordings quoted in BEHAVIOUR.md §2.2 and, where that is silent, the
// recordings collected by DynamoDB emulators from the shared AWS front end
// (mhart/dynalite, dacut/scratchstack-aws-signature).

// errMissingEqual: a token of the Authorization header without "=".
func errMissingEqual(part, header string) *Error {
	return &Error{CodeIncompleteSignature, "'" + part +
		"' not a valid key=value pair (missing equal-sign) in Authorization header: '" + header + "'."}
}

// Sentences of the missing-component answer. AWS joins every sentence that
// applies with a space and appends " Authorization=<header>".
const (
	msgNeedCredential    = "Authorization header requires 'Credential' parameter."
	msgNeedSignature     = "Authorization header requires 'Signature' parameter."
	msgNeedSignedHeaders = "Authorization header requires 'SignedHeaders' parameter."
	msgNeedDate          = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
)

func errIncomplete(sentences []string, header string) *Error {
	msg := ""
	for _, s := range sentences {
		msg += s + " "
	}
	return &Error{CodeIncompleteSignature, msg + "Authorization=" + header}
}

func errBadDate(v string) *Error {
	return &Error{CodeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '" + v +
		"'. See http://en.wikipedia.org/wiki/ISO_8601"}
}

func errHostNotSigned() *Error {
	return &Error{CodeInvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
}

// errDateNotSigned follows the pattern of errHostNotSigned; AWS's own text
// was not recorded.
func errDateNotSigned(name string) *Error {
	return &Error{CodeInvalidSignature, "'" + name + "' must be a 'SignedHeader' in the AWS Authorization."}
}

func errAlgorithm(alg string) *Error {
	return &Error{CodeIncompleteSignature, "Unsupported AWS 'algorithm': '" + alg + "' (only AWS4-HMAC-SHA256 for now). "}
}

func errCredentialParts(cred string) *Error {
	return &Error{CodeIncompleteSignature,
		"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + cred + "'"}
}

func errBothAuth() *Error {
	return &Error{CodeInvalidSignature, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."}
}

// Sentences of the credential-scope answer (InvalidSignatureException). AWS
// concatenates every one that applies, in this order; each but the last
// ends with ". " (the trailing space is AWS's).

func msgRegion(region string) string {
	return "Credential should be scoped to a valid region, not '" + region + "'. "
}

func msgService(service string) string {
	return "Credential should be scoped to correct service: '" + service + "'. "
}

func msgTerminator(term string) string {
	return "Credential should be scoped with a valid terminator: 'aws4_request', not '" + term + "'. "
}

func msgScopeDate(scopeDate, reqDate, stamp string) string {
	return "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
		scopeDate + "' != '" + reqDate + "', from '" + stamp + "'."
}

const isoBasicLayout = "20060102T150405Z"

func isoBasic(t time.Time) string { return t.UTC().Format(isoBasicLayout) }

// skewText renders the allowed skew as AWS does ("5 min").
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec"
}
