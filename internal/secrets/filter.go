package secrets

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// ListSecrets filters, sorting and paging (BEHAVIOUR.md §7), shared by
// ListSecrets and BatchGetSecretValue with Filters.
//
// The meaning of a filter (which secrets it matches, how values and
// attributes are split into words) is storage.MatchFilters: the store
// evaluates filters in its own query engine, so the definition lives with
// the storage contract and both this package and every backend use it.
// This file turns a request into a storage.SecretQuery (validation with
// AWS's errors, defaults) and a page of the answer into a NextToken.

// Filter is one filter of a request, as sent: Key nil when the member is
// absent. The keys are the storage.FilterKey names: name, description,
// tag-key, tag-value, primary-region, owning-service, all. A value starting
// with "!" is a negation.
type Filter struct {
	Key    *string
	Values []string
}

// SortBy and SortOrder values of ListSecrets.
const (
	SortByCreatedDate      = "created-date" // the default
	SortByLastAccessedDate = "last-accessed-date"
	SortByLastChangedDate  = "last-changed-date"
	SortByName             = "name"
	SortOrderAsc           = "asc" // the default
	SortOrderDesc          = "desc"
)

// Limits of the model (FiltersListType, FilterValuesStringList,
// FilterValueStringType); the wire layer enforces them first with AWS's
// ValidationException texts, these checks guard other callers.
const (
	maxFilters        = 10
	maxFilterValues   = 10
	maxFilterValueLen = 512
)

var filterKeys = map[string]storage.FilterKey{
	string(storage.FilterName):          storage.FilterName,
	string(storage.FilterDescription):   storage.FilterDescription,
	string(storage.FilterTagKey):        storage.FilterTagKey,
	string(storage.FilterTagValue):      storage.FilterTagValue,
	string(storage.FilterPrimaryRegion): storage.FilterPrimaryRegion,
	string(storage.FilterOwningService): storage.FilterOwningService,
	string(storage.FilterAll):           storage.FilterAll,
}

// parseFilters validates the filters of a request and returns them as the
// store takes them. Errors are those of AWS (moto's texts, §7.3): a filter
// without a key is "Invalid filter key", one without values "Invalid filter
// values for key: <key>", both InvalidParameterException.
func parseFilters(in []Filter) ([]storage.Filter, error) {
	if len(in) > maxFilters {
		return nil, errorf(KindInvalidParameter, "You can't specify more than %d filters.", maxFilters)
	}
	out := make([]storage.Filter, 0, len(in))
	for _, f := range in {
		if f.Key == nil {
			return nil, &Error{Kind: KindInvalidParameter, Message: "Invalid filter key"}
		}
		key, ok := filterKeys[*f.Key]
		if !ok {
			return nil, &Error{Kind: KindInvalidParameter, Message: "Invalid filter key"}
		}
		if len(f.Values) == 0 {
			return nil, errorf(KindInvalidParameter, "Invalid filter values for key: %s", *f.Key)
		}
		if len(f.Values) > maxFilterValues {
			return nil, errorf(KindInvalidParameter, "You can't specify more than %d values for key: %s", maxFilterValues, *f.Key)
		}
		sf := storage.Filter{Key: key, Values: make([]storage.FilterValue, 0, len(f.Values))}
		for _, v := range f.Values {
			if len(v) > maxFilterValueLen {
				return nil, errorf(KindInvalidParameter, "Invalid filter values for key: %s", *f.Key)
			}
			value, not := strings.CutPrefix(v, "!")
			sf.Values = append(sf.Values, storage.FilterValue{Not: not, Value: value})
		}
		out = append(out, sf)
	}
	return out, nil
}

// parseSort returns the order a request asks for: by creation date,
// oldest first, unless said otherwise.
func parseSort(by, order *string) (storage.SortKey, bool, error) {
	key := storage.SortCreated
	if by != nil {
		switch *by {
		case SortByCreatedDate:
		case SortByName:
			key = storage.SortName
		case SortByLastChangedDate:
			key = storage.SortLastChanged
		case SortByLastAccessedDate:
			key = storage.SortLastAccessed
		default:
			return 0, false, errorf(KindInvalidParameter, "Invalid SortBy value: %s", *by)
		}
	}
	desc := false
	if order != nil {
		switch *order {
		case SortOrderAsc:
		case SortOrderDesc:
			desc = true
		default:
			return 0, false, errorf(KindInvalidParameter, "Invalid SortOrder value: %s", *order)
		}
	}
	return key, desc, nil
}

// listRequest asks for one page of the caller's secrets.
type listRequest struct {
	Filters        []Filter
	SortBy         *string
	SortOrder      *string
	IncludeDeleted bool
	Limit          int // page size, > 0
	NextToken      string
}

// listPage returns one page of the caller's secrets that match the
// request's filters, in its order, and the token of the next page ("" on
// the last page). op names the operation in logs. The page may be shorter
// than Limit only when it is the last one.
func (s *Service) listPage(ctx context.Context, c Caller, op string, r listRequest) ([]*storage.Secret, string, error) {
	if err := s.authorize(c, access{action: actListSecrets, id: "*"}, nil, "*"); err != nil {
		return nil, "", err
	}
	filters, err := parseFilters(r.Filters)
	if err != nil {
		return nil, "", err
	}
	sortBy, desc, err := parseSort(r.SortBy, r.SortOrder)
	if err != nil {
		return nil, "", err
	}
	limit := max(r.Limit, 1)
	q := storage.SecretQuery{
		Account: c.Account, Region: c.Region, IncludeDeleted: r.IncludeDeleted,
		Filters: filters, SortBy: sortBy, Desc: desc,
		Limit: limit + 1, // one more tells whether there is a next page
	}
	if r.NextToken != "" {
		if q.After, err = s.decodeListToken(c, r.NextToken, sortBy, desc); err != nil {
			return nil, "", err
		}
	}
	var page []*storage.Secret
	err = s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		page, err = tx.ListSecrets(q)
		return err
	})
	if err != nil {
		return nil, "", s.internal(ctx, op, err)
	}
	if len(page) <= limit {
		return page, "", nil
	}
	page = page[:limit]
	return page, encodeListToken(sortBy, desc, page[limit-1]), nil
}

// listToken is the content of a NextToken: the order and the position of
// the last item of the page in it (its sort key and ARN), so that the next
// page starts right after it whatever was inserted or deleted meanwhile.
// Tokens of earlier versions ({"c", "a"}) read as creation order.
type listToken struct {
	Sort    storage.SortKey `json:"s,omitempty"`
	Desc    bool            `json:"d,omitempty"`
	Created int64           `json:"c,omitempty"` // SortCreated: unix ms
	Name    string          `json:"n,omitempty"` // SortName
	Time    int64           `json:"t,omitempty"` // SortLastChanged, SortLastAccessed: unix ms, 0 for never
	ARN     string          `json:"a"`
}

func encodeListToken(sortBy storage.SortKey, desc bool, last *storage.Secret) string {
	tok := listToken{Sort: sortBy, Desc: desc, ARN: last.ARN}
	switch sortBy {
	case storage.SortCreated:
		tok.Created = last.Created.UnixMilli()
	case storage.SortName:
		tok.Name = last.Name
	case storage.SortLastChanged:
		tok.Time = unixMilli(last.LastChanged)
	case storage.SortLastAccessed:
		tok.Time = unixMilli(last.LastAccessed)
	}
	raw, _ := json.Marshal(tok)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeListToken reads a NextToken made by encodeListToken for the same
// caller and order; anything else is InvalidNextTokenException.
func (s *Service) decodeListToken(c Caller, token string, sortBy storage.SortKey, desc bool) (*storage.Cursor, error) {
	invalid := &Error{Kind: KindInvalidNextToken, Message: "The NextToken value is invalid."}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, invalid
	}
	var tok listToken
	if err := json.Unmarshal(raw, &tok); err != nil ||
		tok.Sort != sortBy || tok.Desc != desc ||
		!strings.HasPrefix(tok.ARN, s.arnPrefix(c.Region, c.Account)) {
		return nil, invalid
	}
	cur := &storage.Cursor{ARN: tok.ARN}
	switch sortBy {
	case storage.SortCreated:
		cur.Created = fromUnixMilli(tok.Created)
	case storage.SortName:
		cur.Name = tok.Name
	case storage.SortLastChanged:
		cur.LastChanged = fromUnixMilli(tok.Time)
	case storage.SortLastAccessed:
		cur.LastAccessed = fromUnixMilli(tok.Time)
	}
	return cur, nil
}

// unixMilli is t in unix milliseconds, 0 for the zero time.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromUnixMilli is the inverse of unixMilli.
func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
