package secrets

import (
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
)

// Value is a secret value: either text (SecretString) or bytes
// (SecretBinary). It prints as REDACTED everywhere (fmt, slog), so it cannot
// leak into a log line or an error message by accident.
type Value struct {
	data   []byte
	binary bool
}

// TextValue returns a SecretString value.
func TextValue(s string) Value { return Value{data: []byte(s)} }

// BinaryValue returns a SecretBinary value.
func BinaryValue(b []byte) Value { return Value{data: b, binary: true} }

// IsBinary reports whether the value is a SecretBinary.
func (v Value) IsBinary() bool { return v.binary }

// Bytes returns the value's bytes (the UTF-8 text for a SecretString).
func (v Value) Bytes() []byte { return v.data }

// Text returns a SecretString value as a string.
func (v Value) Text() string { return string(v.data) }

// Equal reports whether two values are the same kind with the same bytes, in
// constant time for equal lengths.
func (v Value) Equal(o Value) bool {
	return v.binary == o.binary && subtle.ConstantTimeCompare(v.data, o.data) == 1
}

func (Value) String() string               { return "REDACTED" }
func (Value) GoString() string             { return "REDACTED" }
func (Value) LogValue() slog.Value         { return slog.StringValue("REDACTED") }
func (Value) MarshalText() ([]byte, error) { return []byte("REDACTED"), nil }

// Format prints REDACTED for every verb: without it, a verb that bypasses
// String (%d, %c, %U, ...) would print the value's bytes.
func (v Value) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = io.WriteString(f, v.GoString())
			return
		}
		fallthrough
	case 's', 'q', 'x', 'X':
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), v.String())
	default:
		_, _ = fmt.Fprintf(f, "%%!%c(secrets.Value=REDACTED)", verb)
	}
}
