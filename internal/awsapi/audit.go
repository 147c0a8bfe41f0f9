package awsapi

// This file makes every call through the front door produce exactly one
// CloudTrail-shaped audit record (BEHAVIOUR.md §15), durable before the
// response is written:
//
//   - ServeHTTP and serveSTS build an audit.Pending per call (request id,
//     source address, user agent, event source and name) and put it in the
//     request's context; authenticate fills the caller's identity (the
//     access key id alone when the call is refused before the key is
//     known); the typed operation adapter fills requestParameters from the
//     decoded request, minus every member the model marks sensitive.
//   - A domain write commits the record inside its own transaction
//     (Pending.Commit, package secrets); the front door then calls
//     Pending.Finish, which makes the record durable (Trail.Record: the
//     audit journal, or a store transaction) unless Commit did. Reads,
//     refusals, validation failures and failed writes are recorded by
//     Finish.
//   - Fail-closed: when Finish fails, the response is InternalServiceError
//     (Query protocol: the service's internal code) and never the
//     operation's output, so a read's value is not returned.
//
// requestParameters come from the generated types' LogValue, which the
// generator writes with every sensitive member (SecretString, SecretBinary,
// RotationToken, RandomPassword) replaced by REDACTED: those members are
// dropped, so the record holds no secret value whatever the operation.

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/coffer-dev/coffer/internal/audit"
	"github.com/coffer-dev/coffer/internal/iam"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/secrets"
)

const (
	smEventSource  = "secretsmanager.amazonaws.com"
	iamEventSource = "iam.amazonaws.com"
	stsEventSource = "sts.amazonaws.com"
)

// beginAudit makes the pending record of one call and returns r carrying
// it. With no trail configured (auditing off, for benchmarks only) it
// returns r unchanged and a nil Pending.
func (h *Handler) beginAudit(r *http.Request, reqID, source, eventName string) (*http.Request, *audit.Pending) {
	if h.trail == nil {
		return r, nil
	}
	rec := &audit.Record{
		EventSource:     source,
		EventName:       eventName,
		AWSRegion:       h.region,
		SourceIPAddress: remoteIP(r),
		UserAgent:       r.UserAgent(),
		RequestID:       reqID,
		ReadOnly:        readOnlyEvent(eventName),
		EventType:       "AwsApiCall",
		ManagementEvent: true,
		EventCategory:   "Management",
	}
	p := audit.NewPending(rec)
	return r.WithContext(audit.WithPending(r.Context(), p)), p
}

// readOnlyEvent tells whether an API call only reads (BEHAVIOUR.md §15.2).
func readOnlyEvent(name string) bool {
	for _, prefix := range []string{"Get", "Describe", "List", "Validate", "Simulate", "BatchGet"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// auditKey records what authentication learned of the caller before the
// key was looked up: the access key id and the region the request signed
// for.
func auditKey(ctx context.Context, accessKeyID, region string) {
	p := audit.PendingFrom(ctx)
	if p == nil {
		return
	}
	rec := p.Record()
	if accessKeyID != "" {
		rec.UserIdentity = &audit.UserIdentity{AccessKeyID: accessKeyID}
	}
	if region != "" {
		rec.AWSRegion = region
	}
}

// auditCaller records the authenticated caller.
func auditCaller(ctx context.Context, c iam.Caller) {
	p := audit.PendingFrom(ctx)
	if p == nil || c.Identity == nil {
		return
	}
	rec := p.Record()
	rec.UserIdentity = userIdentity(c.Identity.Principal)
	rec.RecipientAccountID = c.Identity.Principal.Account
	if c.Request.Region != "" {
		rec.AWSRegion = c.Request.Region
	}
}

// userIdentity is the record's caller for an authenticated principal.
func userIdentity(p iam.Principal) *audit.UserIdentity {
	u := &audit.UserIdentity{PrincipalID: p.UserID, ARN: p.ARN, AccountID: p.Account, AccessKeyID: p.KeyID}
	switch p.Kind {
	case iam.KindRoot:
		u.Type = "Root"
	case iam.KindUser:
		u.Type = "IAMUser"
		u.UserName = p.Name
	case iam.KindAssumedRole:
		u.Type = "AssumedRole"
	}
	return u
}

// auditParams records the request's members, without the sensitive ones.
// in is a generated request type (its LogValue redacts sensitive members).
func auditParams(ctx context.Context, in any) {
	p := audit.PendingFrom(ctx)
	if p == nil {
		return
	}
	if lv, ok := in.(slog.LogValuer); ok {
		p.Record().RequestParameters = logMap(lv.LogValue())
	}
}

// redactedMark is what the generated LogValue puts for a sensitive member.
const redactedMark = "REDACTED"

// logMap turns a generated type's LogValue (a group) into JSON-ready
// parameters with lower-camel keys, dropping redacted members. A group
// whose keys are 0, 1, 2, ... is a list.
func logMap(v slog.Value) map[string]any {
	v = v.Resolve()
	if v.Kind() != slog.KindGroup {
		return nil
	}
	out := map[string]any{}
	for _, a := range v.Group() {
		val, keep := logAny(a.Value)
		if keep {
			out[lowerCamel(a.Key)] = val
		}
	}
	return out
}

func logAny(v slog.Value) (any, bool) {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if v.String() == redactedMark {
			return nil, false
		}
		return v.String(), true
	case slog.KindBool:
		return v.Bool(), true
	case slog.KindInt64:
		return v.Int64(), true
	case slog.KindUint64:
		return v.Uint64(), true
	case slog.KindFloat64:
		return v.Float64(), true
	case slog.KindTime:
		return v.Time().UTC().Format(time.RFC3339), true
	case slog.KindDuration:
		return v.Duration().String(), true
	case slog.KindGroup:
		attrs := v.Group()
		isList := len(attrs) > 0
		for i, a := range attrs {
			if a.Key != strconv.Itoa(i) {
				isList = false
				break
			}
		}
		if isList {
			list := make([]any, 0, len(attrs))
			for _, a := range attrs {
				if e, ok := logAny(a.Value); ok {
					list = append(list, e)
				}
			}
			return list, true
		}
		return logMap(v), true
	default:
		return v.Any(), true
	}
}

// camelNames remembers lowerCamel's answers, for at most maxCamelNames
// names: the members of the model, which every call spells again (the
// Query protocol's parameter names come from the caller, hence the bound).
var (
	camelNames sync.Map // string -> string
	camelCount atomic.Int32
)

const maxCamelNames = 1024

// lowerCamel is CloudTrail's spelling of a member name: SecretId ->
// secretId, ARN -> arn, KmsKeyId -> kmsKeyId.
func lowerCamel(s string) string {
	if v, ok := camelNames.Load(s); ok {
		return v.(string)
	}
	c := spellLowerCamel(s)
	if camelCount.Load() < maxCamelNames {
		if _, had := camelNames.LoadOrStore(s, c); !had {
			camelCount.Add(1)
		}
	}
	return c
}

// spellLowerCamel is lowerCamel without the memory.
func spellLowerCamel(s string) string {
	if s == "" {
		return s
	}
	if strings.ToUpper(s) == s {
		return strings.ToLower(s)
	}
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// responseElements are the members of a write's output a record keeps
// (arn, name, versionId, deletionDate); nil for a read, whose output may
// be secret.
func responseElements(eventName string, out any) map[string]any {
	if readOnlyEvent(eventName) {
		return nil
	}
	rv, ok := outputStruct(out)
	if !ok {
		return nil
	}
	m := map[string]any{}
	for _, name := range []string{"ARN", "Name", "VersionId", "DeletionDate"} {
		f := rv.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		switch v := f.Interface().(type) {
		case *string:
			m[lowerCamel(name)] = *v
		case interface{ UTC() time.Time }:
			m[lowerCamel(name)] = v.UTC().Format(time.RFC3339)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// outputStruct is an operation's output (a struct or a pointer to one) as
// a struct value; false for nil or anything else.
func outputStruct(out any) (reflect.Value, bool) {
	rv := reflect.ValueOf(out)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Value{}, false
		}
		rv = rv.Elem()
	}
	return rv, rv.Kind() == reflect.Struct
}

// outputARN is the ARN member of an operation's output, "" if none.
func outputARN(out any) string {
	rv, ok := outputStruct(out)
	if !ok {
		return ""
	}
	f := rv.FieldByName("ARN")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return ""
	}
	s, _ := f.Interface().(*string)
	if s == nil {
		return ""
	}
	return *s
}

// finishAudit records the call's outcome unless the domain committed it.
// out is the operation's output on success (nil on failure).
func (h *Handler) finishAudit(ctx context.Context, p *audit.Pending, errCode, errMsg string, out any) error {
	if p == nil {
		return nil
	}
	rec := p.Record()
	if res, ok := secretResource(outputARN(out)); ok {
		// The secret's account owns the event (a cross-account call).
		rec.RecipientAccountID = res.AccountID
		if len(rec.Resources) == 0 {
			rec.Resources = []audit.Resource{res}
		}
	}
	var resp map[string]any
	if errCode == "" {
		resp = responseElements(rec.EventName, out)
	}
	start := time.Now()
	err := p.Finish(ctx, h.trail, errCode, errMsg, resp)
	metrics.ObserveAudit(time.Since(start))
	return err
}

// secretResource is the record's resource for a secret's ARN; false when
// the ARN names no account.
func secretResource(arn string) (audit.Resource, bool) {
	// arn:partition:service:region:account:resource; the fifth field.
	var account string
	rest := arn
	for range 5 {
		var ok bool
		if account, rest, ok = strings.Cut(rest, ":"); !ok {
			return audit.Resource{}, false
		}
	}
	if account == "" {
		return audit.Resource{}, false
	}
	return audit.Resource{ARN: arn, AccountID: account, Type: "AWS::SecretsManager::Secret"}, true
}

// sensitiveQuery are the Query protocol parameters that never go into a
// record: passwords, secret keys, session tokens and presigned-URL
// signatures.
var sensitiveQuery = map[string]bool{
	"Password": true, "OldPassword": true, "NewPassword": true,
	"SecretAccessKey": true, "SessionToken": true,
}

// queryParamsForAudit are a Query call's parameters minus Action, Version,
// the signature's own parameters and every sensitive one.
func queryParamsForAudit(v url.Values) map[string]any {
	out := map[string]any{}
	// Sorted, so that of two keys spelt alike but for the first letter's
	// case the same one always wins.
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if k == "Action" || k == "Version" || sensitiveQuery[k] || strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			continue
		}
		if len(v[k]) > 0 {
			out[lowerCamel(k)] = v[k][0]
		}
	}
	return out
}

// auditBatchValues records one GetSecretValue event per secret a
// BatchGetSecretValue call retrieved (BEHAVIOUR.md §5.10), each durable
// before the values are returned; a failure fails the whole call.
func (h *Handler) auditBatchValues(ctx context.Context, res *secrets.BatchResult) error {
	p := audit.PendingFrom(ctx)
	if p == nil || h.trail == nil {
		return nil
	}
	call := p.Record()
	for _, v := range res.Values {
		rec := &audit.Record{
			UserIdentity:       call.UserIdentity,
			EventSource:        call.EventSource,
			EventName:          "GetSecretValue",
			AWSRegion:          call.AWSRegion,
			SourceIPAddress:    call.SourceIPAddress,
			UserAgent:          call.UserAgent,
			RequestParameters:  map[string]any{"secretId": v.ARN},
			RequestID:          call.RequestID,
			ReadOnly:           true,
			EventType:          "AwsApiCall",
			ManagementEvent:    true,
			EventCategory:      "Management",
			RecipientAccountID: call.RecipientAccountID,
		}
		if res, ok := secretResource(v.ARN); ok {
			rec.RecipientAccountID = res.AccountID
			rec.Resources = []audit.Resource{res}
		}
		if err := h.trail.Record(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}
