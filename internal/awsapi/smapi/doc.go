// Package smapi holds the wire types of the AWS Secrets Manager API
// (awsJson 1.1, X-Amz-Target "secretsmanager.<Operation>"), generated from
// the botocore model third_party/botocore/service-2.json.
//
// Only internal/awsapi (the wire protocol front door) and test and benchmark
// clients import smapi; the domain (internal/secrets) never sees these types.
//
// # Types
//
// Every structure shape reachable from the 23 operations has a Go struct of
// the same name (CreateSecretRequest, SecretListEntry, Tag, ...). Field names
// and JSON names are the model member names verbatim; every field carries
// `json:"<Member>,omitzero"`, so absent members are absent on the wire and a
// non-nil empty list is sent as []. Scalars are pointers (*string, *bool,
// *int64, *Timestamp) so that "absent" and "zero" differ; blobs are []byte
// (standard padded base64 on the wire); lists are slices of values; maps are
// map[string]T; nested structures are pointers. Go 1.26's new(expr) builds
// pointers: &CreateSecretRequest{Name: new("db")}.
//
// Enum shapes get untyped string constants named shape + value
// (SortOrderTypeAsc = "asc"); members keep the type *string so that values
// unknown to this model still decode.
//
// # Validation
//
// Each struct has Validate, which checks the model constraints (required
// members, lengths in characters, byte lengths of blobs, value ranges, list
// and map sizes, patterns matched against the whole value, enums) through
// nested structures, lists and maps, and returns every violation at once as a
// *ValidationError whose text is the one AWS sends with a
// ValidationException. Values of sensitive members never appear in it.
// Lengths count runes; AWS (Java) counts UTF-16 code units, so a string
// with characters outside the Basic Multilingual Plane (emoji) may pass
// here and fail on AWS near a limit.
//
// # Secrets
//
// Members whose shape is sensitive in the model (SecretString, SecretBinary,
// RotationToken, RandomPassword) print as REDACTED: every struct implements
// fmt.Stringer, fmt.GoStringer, fmt.Formatter and slog.LogValuer. Only
// encoding/json sees the values, because it must put them on the wire: never
// log a json.Marshal of these types. slog's JSON handler marshals slices and
// maps with encoding/json, so log the enclosing struct (the response or
// request), never a bare []SecretValueEntry.
//
// # Regenerating
//
// zz_generated.go is written by internal/awsapi/gen and committed. After
// changing the generator or the model run
//
//	go generate ./internal/awsapi/smapi
//
// TestGenerated fails when the committed file differs from what the
// generator writes.
package smapi

//go:generate go run ../gen -model ../../../third_party/botocore/service-2.json -out zz_generated.go
