package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Filter selects records for Lookup. Zero fields match everything; set
// fields must all match.
type Filter struct {
	From, To  time.Time // From <= eventTime < To (To zero: no end)
	EventName string
	// Secret matches a secret name or ARN against the record's resources
	// and requestParameters.secretId (an ARN also matches a secretId that
	// is its name).
	Secret    string
	Principal string // userIdentity.arn
	ErrorCode string
	ReadOnly  *bool
	Limit     int // <= 0: no limit
}

// lookupDoc is the part of a record Lookup filters on.
type lookupDoc struct {
	UserIdentity *struct {
		ARN string `json:"arn"`
	} `json:"userIdentity"`
	ErrorCode         string          `json:"errorCode"`
	ReadOnly          bool            `json:"readOnly"`
	RequestParameters json.RawMessage `json:"requestParameters"`
	Resources         []Resource      `json:"resources"`
}

// Lookup returns records matching f, oldest first.
func Lookup(ctx context.Context, store storage.Store, f Filter) ([]*storage.AuditRecord, error) {
	var out []*storage.AuditRecord
	var after int64
	for {
		var page []*storage.AuditRecord
		if err := store.View(ctx, func(tx storage.Tx) error {
			var err error
			page, err = tx.AuditRecords(after, pageSize)
			return err
		}); err != nil {
			return nil, fmt.Errorf("audit: reading records after %d: %w", after, err)
		}
		for _, r := range page {
			ok, err := f.match(r)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, r)
				if f.Limit > 0 && len(out) >= f.Limit {
					return out, nil
				}
			}
		}
		if len(page) < pageSize {
			return out, nil
		}
		after = page[len(page)-1].Seq
	}
}

func (f Filter) match(r *storage.AuditRecord) (bool, error) {
	if !f.From.IsZero() && r.Time.Before(f.From) {
		return false, nil
	}
	if !f.To.IsZero() && !r.Time.Before(f.To) {
		return false, nil
	}
	if f.EventName != "" && r.EventName != f.EventName {
		return false, nil
	}
	if f.Secret == "" && f.Principal == "" && f.ErrorCode == "" && f.ReadOnly == nil {
		return true, nil
	}
	var d lookupDoc
	if err := json.Unmarshal(r.Doc, &d); err != nil {
		return false, fmt.Errorf("audit: record %d is not JSON: %w", r.Seq, err)
	}
	if f.ErrorCode != "" && d.ErrorCode != f.ErrorCode {
		return false, nil
	}
	if f.ReadOnly != nil && d.ReadOnly != *f.ReadOnly {
		return false, nil
	}
	if f.Principal != "" && (d.UserIdentity == nil || d.UserIdentity.ARN != f.Principal) {
		return false, nil
	}
	if f.Secret != "" && !matchSecret(f.Secret, &d) {
		return false, nil
	}
	return true, nil
}

// matchSecret reports whether the record is about the secret named by
// want (a name or an ARN).
func matchSecret(want string, d *lookupDoc) bool {
	name := want
	if strings.HasPrefix(want, "arn:") {
		name = secretNameOfARN(want)
	}
	same := func(v string) bool {
		if v == "" {
			return false
		}
		if v == want || v == name {
			return true
		}
		if strings.HasPrefix(v, "arn:") {
			return secretNameOfARN(v) == name || strings.HasPrefix(v, want)
		}
		return false
	}
	for _, r := range d.Resources {
		if same(r.ARN) {
			return true
		}
	}
	var p map[string]any
	if len(d.RequestParameters) > 0 && json.Unmarshal(d.RequestParameters, &p) == nil {
		if s, ok := p["secretId"].(string); ok && same(s) {
			return true
		}
		if s, ok := p["name"].(string); ok && same(s) {
			return true
		}
	}
	return false
}

// secretNameOfARN returns the secret name of a Secrets Manager ARN
// (arn:...:secret:NAME-AbCdEf, the random suffix removed); for a partial
// ARN without the suffix, the name as given.
func secretNameOfARN(arn string) string {
	i := strings.Index(arn, ":secret:")
	if i < 0 {
		return arn
	}
	name := arn[i+len(":secret:"):]
	if j := strings.LastIndexByte(name, '-'); j >= 0 && len(name)-j-1 == 6 {
		return name[:j]
	}
	return name
}
