package smapi

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timestamp is a point in time as awsJson 1.1 carries it: seconds since the
// Unix epoch as a JSON number. It marshals with millisecond precision
// (1523477145.713; whole seconds as 1523923200) and unmarshals any JSON
// number (integer, fraction, exponent) exactly to the nanosecond, in UTC.
//
// The embedded time.Time's IsZero makes encoding/json's omitzero drop a
// non-nil *Timestamp that holds the zero time, as well as a nil one.
type Timestamp struct {
	time.Time
}

// NewTimestamp returns a *Timestamp holding t, for use in struct literals.
func NewTimestamp(t time.Time) *Timestamp {
	return &Timestamp{Time: t}
}

// Earliest and latest times a Timestamp accepts from the wire:
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const (
	minEpochSeconds = -62135596800
	maxEpochSeconds = 253402300799
)

var errTimestampSyntax = errors.New("smapi: timestamp must be a JSON number of seconds since the epoch")

// MarshalJSON writes t as epoch seconds rounded to the millisecond.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.Round(time.Millisecond).UnixMilli()
	return appendEpochMillis(nil, ms), nil
}

// appendEpochMillis appends ms milliseconds as decimal seconds with at most
// three fraction digits and no trailing zeros.
func appendEpochMillis(b []byte, ms int64) []byte {
	u := uint64(ms)
	if ms < 0 {
		b = append(b, '-')
		u = uint64(-ms)
	}
	b = strconv.AppendUint(b, u/1000, 10)
	if frac := u % 1000; frac != 0 {
		var d [4]byte
		d[0] = '.'
		d[1] = byte('0' + frac/100)
		d[2] = byte('0' + frac/10%10)
		d[3] = byte('0' + frac%10)
		n := 4
		for d[n-1] == '0' {
			n--
		}
		b = append(b, d[:n]...)
	}
	return b
}

// UnmarshalJSON reads a JSON number of epoch seconds. JSON null leaves t
// unchanged; strings and other values are rejected.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	sec, nsec, err := parseEpochSeconds(s)
	if err != nil {
		return err
	}
	t.Time = time.Unix(sec, nsec).UTC()
	return nil
}

// parseEpochSeconds parses a JSON number exactly, without going through
// float64: the decimal point is moved by the exponent on the digit string.
// Digits beyond the nanosecond are dropped.
func parseEpochSeconds(s string) (sec, nsec int64, err error) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e := strings.TrimPrefix(s[i+1:], "+")
		if len(e) > 6 {
			return 0, 0, errTimestampSyntax
		}
		exp, err = strconv.Atoi(e)
		if err != nil {
			return 0, 0, errTimestampSyntax
		}
	}
	intPart, fracPart, _ := strings.Cut(mant, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(fracPart) ||
		(strings.Contains(mant, ".") && fracPart == "") {
		return 0, 0, errTimestampSyntax
	}
	digits := intPart + fracPart
	point := len(intPart) + exp // position of the decimal point in digits
	trimmed := strings.TrimLeft(digits, "0")
	point -= len(digits) - len(trimmed)
	digits = trimmed
	if digits == "" {
		return 0, 0, nil
	}
	var whole, frac string
	switch {
	case point > 12: // more than 12 integer digits: far outside the range
		return 0, 0, fmt.Errorf("smapi: timestamp %s is out of range", s)
	case point <= -9: // below one nanosecond
		return 0, 0, nil
	case point <= 0:
		whole, frac = "0", strings.Repeat("0", -point)+digits
	case point >= len(digits):
		whole = digits + strings.Repeat("0", point-len(digits))
	default:
		whole, frac = digits[:point], digits[point:]
	}
	sec, err = strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, 0, errTimestampSyntax
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	if frac != "" {
		nsec, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if neg {
		sec, nsec = -sec, -nsec
		if nsec != 0 {
			sec, nsec = sec-1, nsec+1e9
		}
	}
	if sec < minEpochSeconds || sec > maxEpochSeconds {
		return 0, 0, fmt.Errorf("smapi: timestamp %s is out of range", s)
	}
	return sec, nsec, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
