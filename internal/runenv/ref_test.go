package runenv

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:db@prod/x+y=z.w-AbCdEf"
	cases := []struct {
		in   string
		want Ref
	}{
		{"db", Ref{SecretID: "db"}},
		{"app/db#password", Ref{SecretID: "app/db", Field: []string{"password"}}},
		{"app/db#.password", Ref{SecretID: "app/db", Field: []string{"password"}}},
		{"app/db#a.b.0", Ref{SecretID: "app/db", Field: []string{"a", "b", "0"}}},
		{`app/db#a\.b`, Ref{SecretID: "app/db", Field: []string{"a.b"}}},
		{"app/db#user@host", Ref{SecretID: "app/db", Field: []string{"user@host"}}},
		{"db@AWSPREVIOUS", Ref{SecretID: "db", VersionStage: "AWSPREVIOUS"}},
		{"db@AWSPENDING#f", Ref{SecretID: "db", VersionStage: "AWSPENDING", Field: []string{"f"}}},
		{"db@stage:blue", Ref{SecretID: "db", VersionStage: "blue"}},
		{"db@version:0123-abcd", Ref{SecretID: "db", VersionID: "0123-abcd"}},
		{"user@example.com", Ref{SecretID: "user@example.com"}},
		{"user@example.com@AWSPREVIOUS", Ref{SecretID: "user@example.com", VersionStage: "AWSPREVIOUS"}},
		{"x@AWSPREVIOUS@AWSCURRENT", Ref{SecretID: "x@AWSPREVIOUS", VersionStage: "AWSCURRENT"}},
		{"a@b@stage:L", Ref{SecretID: "a@b", VersionStage: "L"}},
		{"db@awsprevious", Ref{SecretID: "db@awsprevious"}}, // labels are case-sensitive
		{"/leading/slash_+=.-", Ref{SecretID: "/leading/slash_+=.-"}},
		{arn, Ref{SecretID: arn}},
		{arn + "@AWSPREVIOUS#k", Ref{SecretID: arn, VersionStage: "AWSPREVIOUS", Field: []string{"k"}}},
		{arn + "@version:v1", Ref{SecretID: arn, VersionID: "v1"}},
	}
	for _, c := range cases {
		got, err := ParseRef(c.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseRef(%q) = %+v, want %+v", c.in, got, c.want)
		}
		back, err := ParseRef(got.String())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("ParseRef(%q).String() = %q does not read back (%+v, %v)", c.in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "#f", "@AWSCURRENT", "db#", "db#a..b", "db@stage:", "db@version:", "db#."} {
		if r, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) = %+v, want an error", bad, r)
		}
	}
}

func TestExtractField(t *testing.T) {
	doc := `{"s":"v","n":1.50,"big":12345678901234567890,"t":true,"z":null,"o":{"k":"<&>"},"a":[1,"x"]}`
	cases := map[string]string{
		"s": "v", "n": "1.50", "big": "12345678901234567890", "t": "true", "z": "",
		"o": `{"k":"<&>"}`, "o.k": "<&>", "a": `[1,"x"]`, "a.1": "x",
	}
	for p, want := range cases {
		path, _ := ParseFieldPath(p)
		got, err := ExtractField(doc, path)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"nope", "s.x", "a.2", "a.x"} {
		path, _ := ParseFieldPath(p)
		if _, err := ExtractField(doc, path); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("%s: err %v, want not found", p, err)
		}
	}
	secret := "hunter2-not-json"
	_, err := ExtractField(secret, []string{"x"})
	if err == nil || strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "'h'") {
		t.Errorf("non-JSON: %v (must fail without quoting the value)", err)
	}
}

func TestTransforms(t *testing.T) {
	ts, err := ParseTransforms("json_extract:.cert, base64_decode, trim")
	if err != nil {
		t.Fatal(err)
	}
	v := `{"cert":"ICBoZWxsbyAK"}`
	for _, tr := range ts {
		if v, err = tr.Apply(v); err != nil {
			t.Fatal(err)
		}
	}
	if v != "hello" {
		t.Errorf("chain: got %q", v)
	}
	if ts, _ := ParseTransforms("replace:a:b|multiline_to_single"); len(ts) != 2 {
		t.Errorf("pipe chain: %d transforms", len(ts))
	}
	for _, bad := range []string{"yaml_extract:.x", "json_extract:x", "base64_decode:x", "upper", "replace:x"} {
		if _, err := ParseTransforms(bad); err == nil {
			t.Errorf("ParseTransforms(%q): want an error", bad)
		}
	}
	if _, err := (Transform{Name: "base64_decode"}).Apply("not base64 !!"); err == nil || strings.Contains(err.Error(), "!!") {
		t.Errorf("base64_decode of garbage: %v", err)
	}
}

func TestRender(t *testing.T) {
	vars := []Var{{"A", "plain"}, {"B", "it's\n$x \"q\""}, {"C", ""}}
	got, err := Render("dotenv", vars)
	if err != nil {
		t.Fatal(err)
	}
	want := "A='plain'\nB=\"it's\\n\\$x \\\"q\\\"\"\nC=''\n"
	if string(got) != want {
		t.Errorf("dotenv:\n%s\nwant:\n%s", got, want)
	}
	if got, _ := Render("json", vars); string(got) != "{\n  \"A\": \"plain\",\n  \"B\": \"it's\\n$x \\\"q\\\"\",\n  \"C\": \"\"\n}\n" {
		t.Errorf("json:\n%s", got)
	}
	if got, _ := Render("yaml", []Var{{"A", "true"}, {"B", "x: y"}}); string(got) != "A: \"true\"\nB: 'x: y'\n" {
		t.Errorf("yaml:\n%s", got)
	}
	if _, err := Render("toml", vars); err == nil {
		t.Error("toml: want an error")
	}
}
