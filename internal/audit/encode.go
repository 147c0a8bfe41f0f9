package audit

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// appendRecord appends rec as json.Marshal(rec) writes it, byte for byte
// (TestAppendRecordIsJSONMarshal), without reflection: every call records
// once, so encoding is on every request's path. Strings and maps it does
// not write plainly (any byte json escapes, values other than strings) go
// through json.Marshal.
func appendRecord(b []byte, rec *Record) ([]byte, error) {
	var err error
	b = append(b, `{"eventVersion":`...)
	b = appendJSONString(b, rec.EventVersion)
	b = append(b, `,"userIdentity":`...)
	if u := rec.UserIdentity; u == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		first := true
		for _, m := range [...]struct{ key, val string }{
			{"type", u.Type}, {"principalId", u.PrincipalID}, {"arn", u.ARN}, {"accountId", u.AccountID},
			{"accessKeyId", u.AccessKeyID}, {"userName", u.UserName}, {"invokedBy", u.InvokedBy},
		} {
			if m.val == "" {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = append(b, m.key...)
			b = append(b, `":`...)
			b = appendJSONString(b, m.val)
		}
		b = append(b, '}')
	}
	b = appendMember(b, "eventTime", rec.EventTime)
	b = appendMember(b, "eventSource", rec.EventSource)
	b = appendMember(b, "eventName", rec.EventName)
	b = appendMember(b, "awsRegion", rec.AWSRegion)
	b = appendMember(b, "sourceIPAddress", rec.SourceIPAddress)
	b = appendMember(b, "userAgent", rec.UserAgent)
	if rec.ErrorCode != "" {
		b = appendMember(b, "errorCode", rec.ErrorCode)
	}
	if rec.ErrorMessage != "" {
		b = appendMember(b, "errorMessage", rec.ErrorMessage)
	}
	b = append(b, `,"requestParameters":`...)
	if b, err = appendJSONMap(b, rec.RequestParameters); err != nil {
		return nil, err
	}
	b = append(b, `,"responseElements":`...)
	if b, err = appendJSONMap(b, rec.ResponseElements); err != nil {
		return nil, err
	}
	if len(rec.AdditionalEventData) > 0 {
		b = append(b, `,"additionalEventData":`...)
		if b, err = appendJSONMap(b, rec.AdditionalEventData); err != nil {
			return nil, err
		}
	}
	b = appendMember(b, "requestID", rec.RequestID)
	b = appendMember(b, "eventID", rec.EventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, rec.ReadOnly)
	if len(rec.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i, r := range rec.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ARN":`...)
			b = appendJSONString(b, r.ARN)
			b = appendMember(b, "accountId", r.AccountID)
			if r.Type != "" {
				b = appendMember(b, "type", r.Type)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendMember(b, "eventType", rec.EventType)
	b = append(b, `,"managementEvent":`...)
	b = strconv.AppendBool(b, rec.ManagementEvent)
	b = appendMember(b, "eventCategory", rec.EventCategory)
	b = appendMember(b, "recipientAccountId", rec.RecipientAccountID)
	return append(b, '}'), nil
}

// appendMember appends ,"key":"val" (key needs no escaping).
func appendMember(b []byte, key, val string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, val)
}

// plainByte tells the bytes json.Marshal writes as they are in a string:
// printable ASCII but for '"', '\\', '<', '>' and '&'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

// appendJSONString appends s as a JSON string, as json.Marshal writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONMap appends m as json.Marshal does: null when nil, keys
// sorted; maps of strings plainly, any other through json.Marshal.
func appendJSONMap(b []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if _, ok := v.(string); !ok {
			q, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			return append(b, q...), nil
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k].(string))
	}
	return append(b, '}'), nil
}
