package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestGoPattern(t *testing.T) {
	tests := []struct {
		java    string
		match   []string
		noMatch []string
	}{
		{`[0-9]+h`, []string{"3h", "12h"}, []string{"h", "3h\n", "x3h"}},
		{`^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$`, []string{"", "!a/b+c=d.e-f!"}, []string{"a*b"}},
		{`^([a-z]+-)+\d+$`, []string{"us-east-1"}, []string{"us-east-", "US-EAST-1"}},
		{`a|b`, []string{"a", "b"}, []string{"ab"}},
		{`\p{Alnum}+`, []string{"aZ9"}, []string{"a-b", "é"}},
		{`[\p{Alpha}_]+`, []string{"a_b"}, []string{"a1"}},
		{`\P{Digit}+`, []string{"ab"}, []string{"a1"}},
		{`[]a]+`, []string{"]a]"}, []string{"b"}},
		{`[^]a]+`, []string{"bc"}, []string{"]"}},
		{`abc\Z`, []string{"abc"}, []string{"abcd"}},
	}
	for _, tt := range tests {
		p, err := goPattern(tt.java)
		if err != nil {
			t.Errorf("goPattern(%q): %v", tt.java, err)
			continue
		}
		re := regexp.MustCompile(p)
		for _, s := range tt.match {
			if !re.MatchString(s) {
				t.Errorf("%q (Go %q) does not match %q", tt.java, p, s)
			}
		}
		for _, s := range tt.noMatch {
			if re.MatchString(s) {
				t.Errorf("%q (Go %q) matches %q", tt.java, p, s)
			}
		}
	}
	for _, bad := range []string{`a*+`, `(?=a)b`, `(a)\1`, `\p{javaLowerCase}`} {
		if p, err := goPattern(bad); err == nil {
			t.Errorf("goPattern(%q) = %q, want an error", bad, p)
		}
	}
}

func TestEnumIdent(t *testing.T) {
	for in, want := range map[string]string{
		"tag-key": "TagKey", "InSync": "InSync", "asc": "Asc",
		"last-accessed-date": "LastAccessedDate", "primary-region": "PrimaryRegion",
	} {
		if got := enumIdent(in); got != want {
			t.Errorf("enumIdent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGenerateModel(t *testing.T) {
	data, err := os.ReadFile("../../../third_party/botocore/service-2.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseModel(data)
	if err != nil {
		t.Fatal(err)
	}
	a, err := generate(m, "smapi")
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := parseModel(data)
	b, err := generate(m2, "smapi")
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatal("generation is not deterministic")
	}
	for _, want := range []string{
		"type CreateSecretRequest struct {",
		"\tVersionIdsToStages map[string][]string `json:\"VersionIdsToStages,omitzero\"`",
		"\tTags []Tag `json:\"Tags,omitzero\"`",
		"\tSecretBinary []byte `json:\"SecretBinary,omitzero\"`",
		"\tRotationRules *RotationRulesType `json:\"RotationRules,omitzero\"`",
		"\tCreatedDate *Timestamp `json:\"CreatedDate,omitzero\"`",
		"\tMaxResults *int64 `json:\"MaxResults,omitzero\"`",
	} {
		if !strings.Contains(string(a), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\bFilterNameStringTypeName\s+= "name"\n`).Match(a) {
		t.Error("output lacks FilterNameStringTypeName")
	}
}

func TestGenerateRejects(t *testing.T) {
	base := `{"metadata":{"protocol":"json","uid":"x"},"operations":{"Op":{"input":{"shape":"In"}}},"shapes":{%s}}`
	tests := map[string]string{
		"unsupported type":   `"In":{"type":"structure","members":{"A":{"shape":"D"}}},"D":{"type":"double"}`,
		"member trait":       `"In":{"type":"structure","members":{"A":{"shape":"S","jsonvalue":true}}},"S":{"type":"string"}`,
		"shape trait":        `"In":{"type":"structure","members":{"A":{"shape":"S"}}},"S":{"type":"string","timestampFormat":"iso8601"}`,
		"bad pattern":        `"In":{"type":"structure","members":{"A":{"shape":"S"}}},"S":{"type":"string","pattern":"a++"}`,
		"unknown shape":      `"In":{"type":"structure","members":{"A":{"shape":"Nope"}}}`,
		"missing required":   `"In":{"type":"structure","required":["B"],"members":{"A":{"shape":"S"}}},"S":{"type":"string"}`,
		"method collision":   `"In":{"type":"structure","members":{"String":{"shape":"S"}}},"S":{"type":"string"}`,
		"reserved name":      `"In":{"type":"structure","members":{"A":{"shape":"Timestamp"}}},"Timestamp":{"type":"structure","members":{}}`,
		"sensitive struct":   `"In":{"type":"structure","members":{"A":{"shape":"T"}}},"T":{"type":"structure","sensitive":true,"members":{}}`,
		"non-string map key": `"In":{"type":"structure","members":{"A":{"shape":"M"}}},"M":{"type":"map","key":{"shape":"L"},"value":{"shape":"L"}},"L":{"type":"long"}`,
	}
	for name, shapes := range tests {
		m, err := parseModel([]byte(strings.Replace(base, "%s", shapes, 1)))
		if err == nil {
			_, err = generate(m, "smapi")
		}
		if err == nil {
			t.Errorf("%s: generated without error", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}
