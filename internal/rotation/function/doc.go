// Package function runs coffer's custom rotation functions: the operator's
// own code, registered with `coffer functions create`, that the rotation
// engine (internal/rotation) calls for each step of a rotation, as AWS
// Secrets Manager calls a rotation Lambda function.
//
// It is imported by internal/rotation's wiring in internal/server (New, and
// the Registry as the engine's function lookup) and by internal/server's
// administrative helpers (Create, List, Delete). It imports storage, iam,
// envelope and rotation's contract; never awsapi, secrets or a storage
// driver.
//
// # Storage
//
// A function is a storage.Entity of kind "function" (EntityKind) in the
// account's IAM entity table, addressed by its name, which compares
// case-insensitively like every entity name (Lambda's names are
// case-sensitive: "Rotate" and "rotate" cannot both exist here). Doc is a
// JSON document this package owns: the argv of an exec function or the URL
// of a URL function, extra environment variables, a timeout, and for a URL
// function its HMAC key sealed by the root key (envelope.Wrapper, with
// additional data binding it to the account, name and function id). The key
// is random (32 bytes), printed once by `coffer functions create` and
// kept nowhere else in clear.
//
// # Exec functions
//
// An exec function is an argv run without a shell. It receives the Lambda
// event as JSON on stdin:
//
//	{"SecretId":"arn:aws:secretsmanager:...","ClientRequestToken":"...","Step":"createSecret"}
//
// and an environment holding only: PATH (coffer's), HOME (a fresh temporary
// directory, also the working directory, removed afterwards), AWS_ENDPOINT_URL
// and SECRETS_MANAGER_ENDPOINT (coffer's URL: AWS's rotation templates read
// the latter), AWS_REGION and AWS_DEFAULT_REGION, and AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: temporary credentials
// (iam.Service.IssueSession) allowed secretsmanager:* on the one secret
// being rotated and secretsmanager:GetRandomPassword, and nothing else,
// lasting a few minutes; then the function's own variables (--env), which
// may not override these. Nothing else of coffer's environment reaches it.
//
// Exit status 0 means the step succeeded. The last 64 KiB of stderr are the
// step's log, kept with the rotation's record; stdout is discarded. A
// function that runs past its timeout (60 seconds by default, Lambda's
// default for rotation functions) is killed with its whole process group.
//
// # URL functions
//
// A URL function receives the same event as the body of an HTTP POST
// (Content-Type: application/json) with these headers:
//
//	X-Coffer-Timestamp: 1767268800
//	X-Coffer-Signature: sha256=<hex>
//	X-Coffer-Function: <name>
//
// where <hex> is the lower-case hex HMAC-SHA256, keyed by the function's
// key (the bytes of the base64 text printed at creation, decoded), of the
// timestamp's decimal text, a ".", and the exact body bytes. A receiver
// must recompute it over the raw body, compare in constant time, and
// refuse a timestamp more than 5 minutes from its clock (replays). Any 2xx
// answer means the step succeeded; any other status, a redirect included,
// or no answer within the timeout is a failure. The first 64 KiB of the
// answer's body are the step's log. A URL function gets no credentials:
// it calls coffer with its own.
package function
