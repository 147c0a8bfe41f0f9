// Package sigv4 verifies AWS Signature Version 4 on incoming awsJson requests,
// server side: it is how coffer knows which access key signed a request and
// that nobody changed the request on the way.
//
// Only internal/awsapi (and packages below it) may import sigv4; the domain
// never sees HTTP and never needs it. The package uses the standard library
// only.
//
// Use it in two steps with a key lookup in between:
//
//	req, err := sigv4.Parse(r, "secretsmanager") // syntax, scope, dates
//	secret := lookup(req.AccessKeyID)             // unknown key: the caller answers UnrecognizedClient()
//	err = verifier.Verify(req, r, body, secret)   // clock skew, then the signature
//
// Every failure is an *Error carrying the AWS error code and the message AWS
// sends (BEHAVIOUR.md §2.2). The canonical request is rebuilt from the
// client's own SignedHeaders list; the signed host is r.Host, so a reverse
// proxy in front of coffer must pass the original Host header through.
//
// Only header-based authorization ("Authorization: AWS4-HMAC-SHA256 ...") is
// supported; presigned query-string requests are answered as having no
// authentication token, which is what SDKs never send to this service anyway.
//
// Verification is on the hot path of every request. Parse allocates only the
// Request; Verify does not allocate for an awsJson request (no query string)
// once the signing key for (access key, secret, date, region, service) is in
// the Verifier's bounded, lock-free cache. Signatures are compared in
// constant time.
// Messages never contain the secret access key, the signing key or the
// expected signature.
package sigv4
