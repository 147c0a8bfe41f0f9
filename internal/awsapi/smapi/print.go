package smapi

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// redacted replaces every sensitive value in String, GoString, Format and
// LogValue output.
const redacted = "REDACTED"

// printer builds the String form of a generated struct: the type name and
// its present members, TypeName{Member: value, ...}.
type printer struct {
	b strings.Builder
	n int
}

func newPrinter(typeName string) *printer {
	p := &printer{}
	p.b.WriteString(typeName)
	p.b.WriteByte('{')
	return p
}

func (p *printer) field(name, value string) {
	if p.n > 0 {
		p.b.WriteString(", ")
	}
	p.n++
	p.b.WriteString(name)
	p.b.WriteString(": ")
	p.b.WriteString(value)
}

func (p *printer) done() string {
	p.b.WriteByte('}')
	return p.b.String()
}

// stringGoStringer is what every generated struct is.
type stringGoStringer interface {
	fmt.Stringer
	fmt.GoStringer
}

// format implements fmt.Formatter for generated structs: whatever the verb,
// the output is String (GoString for %#v, quoted String for %q), so no verb
// can reach a sensitive field.
func format(f fmt.State, verb rune, x stringGoStringer) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, x.GoString())
	case verb == 'q':
		io.WriteString(f, strconv.Quote(x.String()))
	default:
		io.WriteString(f, x.String())
	}
}

func fmtString(s string) string { return strconv.Quote(s) }

func fmtBool(b bool) string { return strconv.FormatBool(b) }

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

func fmtTimestamp(t Timestamp) string { return t.UTC().Format(time.RFC3339Nano) }

func fmtBlob(b []byte) string { return "<" + strconv.Itoa(len(b)) + " bytes>" }

func fmtList[T any](l []T, f func(T) string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f(e))
	}
	b.WriteByte(']')
	return b.String()
}

func fmtMap[V any](m map[string]V, f func(V) string) string {
	var b strings.Builder
	b.WriteString("map[")
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(k))
		b.WriteString(": ")
		b.WriteString(f(m[k]))
	}
	b.WriteByte(']')
	return b.String()
}

func logTimestamp(t Timestamp) slog.Value { return slog.TimeValue(t.UTC()) }

func logBlob(b []byte) slog.Value { return slog.StringValue(fmtBlob(b)) }

// logList logs a list whose entries need resolving (structures) as a group
// keyed by 0-based index.
func logList[T any](l []T, f func(T) slog.Value) slog.Value {
	attrs := make([]slog.Attr, len(l))
	for i, e := range l {
		attrs[i] = slog.Attr{Key: strconv.Itoa(i), Value: f(e)}
	}
	return slog.GroupValue(attrs...)
}

// logMap logs a map whose values need resolving as a group in key order.
func logMap[V any](m map[string]V, f func(V) slog.Value) slog.Value {
	attrs := make([]slog.Attr, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		attrs = append(attrs, slog.Attr{Key: k, Value: f(m[k])})
	}
	return slog.GroupValue(attrs...)
}

// sortedKeys returns the keys of m in order, so that map validation reports
// violations deterministically.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// printable is implemented by every generated struct; allStructs in
// zz_generated.go checks it at compile time.
type printable interface {
	fmt.Stringer
	fmt.GoStringer
	fmt.Formatter
	slog.LogValuer
}
