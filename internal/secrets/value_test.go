package secrets

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	v := TextValue("canary-8d1f")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "value", v, "ptr", &v)
	out := fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v) + buf.String() + fmt.Sprint(SecretValue{Value: v})
	if strings.Contains(out, "canary-8d1f") {
		t.Fatalf("value printed: %s", out)
	}
	if v.Text() != "canary-8d1f" || v.IsBinary() {
		t.Fatal("accessors")
	}
	if !v.Equal(TextValue("canary-8d1f")) || v.Equal(BinaryValue([]byte("canary-8d1f"))) || v.Equal(TextValue("other")) {
		t.Fatal("Equal")
	}
}

func TestValueNeverPrintsAnyVerb(t *testing.T) {
	v := TextValue("canary-8d1f")
	for verb, want := range map[string]string{
		"%v": "REDACTED", "%+v": "REDACTED", "%#v": "REDACTED", "%s": "REDACTED", "%10s": "  REDACTED",
		"%q": `"REDACTED"`, "%x": fmt.Sprintf("%x", "REDACTED"), "%X": fmt.Sprintf("%X", "REDACTED"),
		"%d": "%!d(secrets.Value=REDACTED)", "%c": "%!c(secrets.Value=REDACTED)", "%U": "%!U(secrets.Value=REDACTED)",
	} {
		if got := fmt.Sprintf(verb, v); got != want {
			t.Errorf("%s prints %s, want %s", verb, got, want)
		}
	}
}
