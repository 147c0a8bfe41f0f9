package awsapi

// This file serves STS on the same listener as Secrets Manager, over the
// AWS Query protocol (query.go):
//
//	POST /
//	Content-Type: application/x-www-form-urlencoded; charset=utf-8
//	Authorization: AWS4-HMAC-SHA256 Credential=AKIA.../20250101/us-east-1/sts/aws4_request, ...
//
//	Action=GetCallerIdentity&Version=2011-06-15
//
// answered in XML (text/xml). GetCallerIdentity is what chamber (on every
// write), the AWS Secrets Manager Agent (at start-up) and Terraform's
// provider check call; AssumeRole issues temporary credentials for a role
// (the domain, iam.Service.AssumeRole, checks the trust policy). Errors use
// the Query protocol's <ErrorResponse> document and STS's codes and
// statuses, which differ from the awsJson ones: InvalidClientTokenId,
// SignatureDoesNotMatch and MissingAuthenticationToken are HTTP 403.
//
// Decisions for docs/COMPATIBILITY.md:
//
//   - Routing: a request without X-Amz-Target is a Query call when its
//     Content-Type is application/x-www-form-urlencoded, when the credential
//     scope of its Authorization header names "sts" or "iam", or when its
//     query string carries an Action parameter (Query GET). Everything else
//     stays on the awsJson path.
//   - The signature is checked exactly as for Secrets Manager (same
//     verifier, scope service "sts"), so the clock window is ±5 minutes,
//     not STS's 15; the skew messages say "5 min.".
//   - Authentication comes before the Action is looked at, as for Secrets
//     Manager (BEHAVIOUR.md §2.2 step 10).
//   - Parameters are read from the query string and, for a form-encoded
//     body, from the body; for a repeated name the first value counts.
//   - No Action: MissingAction (400) "Missing Action". An Action STS does
//     not serve here, or a Version other than 2011-06-15 (or none):
//     InvalidAction (400) "Could not find operation <Action> for version
//     <Version>". A body that is not valid form encoding:
//     MalformedQueryString (404, the status of AWS's common-errors table). A
//     body over 1 MiB: RequestEntityTooLarge (413). Texts of these four were
//     not recorded from STS.
//   - GetCallerIdentity's UserId is the account id for an account's root,
//     the user's AIDA... id for a user and AROA...:session for a role
//     session, as AWS answers.
//   - AssumeRole refuses PolicyArns, Tags, TransitiveTagKeys, SerialNumber,
//     TokenCode, SourceIdentity and ProvidedContexts (ValidationError,
//     "coffer does not support the parameter X."): coffer implements none
//     of them and ignoring them could grant a session more than asked.
//   - An unexpected failure is InternalFailure (500, Type Receiver), logged
//     and never described to the client.

import (
	"context"
	"errors"
	"net/http"

	"github.com/coffer-dev/coffer/internal/iam"
)

const (
	stsService   = "sts"
	stsVersion   = "2011-06-15"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// stsQuery is STS on the Query protocol.
var stsQuery = &queryService{
	name:        stsService,
	version:     stsVersion,
	namespace:   stsNamespace,
	eventSource: stsEventSource,
	internal:    "InternalFailure",
	ops: map[string]queryOp{
		"GetCallerIdentity": getCallerIdentity,
		"AssumeRole":        assumeRole,
	},
	statuses: map[string]int{
		"AccessDenied":            http.StatusForbidden,
		"ExpiredToken":            http.StatusBadRequest,
		"ExpiredTokenException":   http.StatusBadRequest,
		"MalformedPolicyDocument": http.StatusBadRequest,
		"PackedPolicyTooLarge":    http.StatusBadRequest,
		"RegionDisabledException": http.StatusForbidden,
		"ValidationError":         http.StatusBadRequest,
	},
}

// getCallerIdentity answers who signed the request. Every principal may ask.
func getCallerIdentity(_ context.Context, _ *Handler, c iam.Caller, _ *params) (func(*xmlWriter), error) {
	if c.Identity == nil {
		return nil, errors.New("authenticated caller without an identity")
	}
	p := c.Identity.Principal
	return func(w *xmlWriter) {
		w.elem("Arn", p.ARN)
		w.elem("UserId", p.UserID)
		w.elem("Account", p.Account)
	}, nil
}

// STS AssumeRole member rules, from the STS model.
var (
	stsARNRule         = newRule(20, 2048, "", "")
	roleSessionRule    = newRule(2, 64, `[\w+=,.@-]*`, `[\w+=,.@-]*`)
	externalIDRule     = newRule(2, 1224, `[\w+=,.@:\/-]*`, `[\w+=,.@:/-]*`)
	sessionPolicyRule  = newRule(1, 0, `[\u0009\u000A\u000D\u0020-\u00FF]+`, `[\t\n\r\x{20}-\x{FF}]+`)
	assumeRoleRefusals = []string{"PolicyArns", "Tags", "TransitiveTagKeys", "SerialNumber", "TokenCode",
		"SourceIdentity", "ProvidedContexts"}
)

// assumeRole issues temporary credentials for a role. The secret access key
// and the session token leave only in this response body.
func assumeRole(ctx context.Context, h *Handler, c iam.Caller, p *params) (func(*xmlWriter), error) {
	in := iam.AssumeRoleInput{
		RoleARN:         p.need("RoleArn", stsARNRule),
		RoleSessionName: p.need("RoleSessionName", roleSessionRule),
		ExternalID:      p.str("ExternalId", externalIDRule),
		DurationSeconds: p.integer("DurationSeconds", 900, 43200),
		Policy:          p.str("Policy", sessionPolicyRule),
		Context:         c.Request,
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := p.unsupported("ValidationError", assumeRoleRefusals...); err != nil {
		return nil, err
	}
	out, err := h.iam.AssumeRole(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return func(w *xmlWriter) {
		w.start("AssumedRoleUser")
		w.elem("AssumedRoleId", out.AssumedRoleID)
		w.elem("Arn", out.AssumedRoleARN)
		w.end("AssumedRoleUser")
		w.start("Credentials")
		w.elem("AccessKeyId", out.Credentials.AccessKeyID)
		w.elem("SecretAccessKey", out.Credentials.SecretAccessKey)
		w.elem("SessionToken", out.Credentials.SessionToken)
		w.time("Expiration", out.Credentials.Expiration)
		w.end("Credentials")
		if in.Policy != "" {
			w.int("PackedPolicySize", out.PackedPolicySize)
		}
	}, nil
}
