package runenv

import (
	"strings"
	"testing"
)

const sample = `version: 1
secretStores:
  aws-sm:
    type: aws.secretsmanager
    region: eu-west-1
    profile: prod
    endpoint: http://127.0.0.1:8080
    role_arn: arn:aws:iam::123456789012:role/Reader
    external_id: ext-1
    kms_key_id: alias/x
providers:
  legacy:
    type: aws.secretsmanager
envs:
  production:
    DB_PASSWORD:
      from:
        store: aws-sm
        key: prod/db
      transform: json_extract:.password
    FIELD_IN_KEY:
      from: { store: aws-sm, key: "prod/db#.nested.host" }
    PREV:
      from: { store: aws-sm, key: prod/api, version: AWSPREVIOUS }
    BY_ID:
      from: { store: aws-sm, key: prod/api, version: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111" }
    URI:
      from: store://aws-sm/prod/api?version=blue
    OLD_STYLE:
      from: { provider: legacy, key: x }
    CERT:
      from: { store: aws-sm, key: prod/cert }
      transform: base64_decode
    LIT:
      literal: hi
  dev: {}
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stores["aws-sm"]
	if s.Region != "eu-west-1" || s.Profile != "prod" || s.Endpoint != "http://127.0.0.1:8080" ||
		s.RoleARN != "arn:aws:iam::123456789012:role/Reader" || s.ExternalID != "ext-1" {
		t.Errorf("store: %+v", s)
	}
	if _, ok := c.Stores["legacy"]; !ok {
		t.Error("providers: section not read")
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "kms_key_id") {
		t.Errorf("warnings: %v", c.Warnings)
	}
	ms, err := c.Env("production")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range ms {
		got[m.Var] = m.Describe()
	}
	want := map[string]string{
		"DB_PASSWORD":  "aws-sm: prod/db (AWSCURRENT) | json_extract:.password",
		"FIELD_IN_KEY": "aws-sm: prod/db (AWSCURRENT) field nested.host",
		"PREV":         "aws-sm: prod/api (stage AWSPREVIOUS)",
		"BY_ID":        "aws-sm: prod/api (version a1b2c3d4-5678-90ab-cdef-EXAMPLE11111)",
		"URI":          "aws-sm: prod/api (stage blue)",
		"OLD_STYLE":    "legacy: x (AWSCURRENT)",
		"CERT":         "aws-sm: prod/cert (AWSCURRENT) | base64_decode",
		"LIT":          "literal",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d mappings, want %d", len(got), len(want))
	}
	if ms, err := c.Env("dev"); err != nil || len(ms) != 0 {
		t.Errorf("dev: %v %v", ms, err)
	}
	if _, err := c.Env("staging"); err == nil || !strings.Contains(err.Error(), "dev, production") {
		t.Errorf("unknown env: %v", err)
	}
}

func TestParseConfigRefusals(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"secretStores:\n  v:\n    type: hashicorp.vault\n", `store type "hashicorp.vault" is not supported`},
		{"secretStores:\n  v:\n    region: x\n", "no type"},
		{"secretStores:\n  a:\n    type: aws.secretsmanager\nenvs:\n  e:\n    X:\n      from: {store: a, key: k}\n      transform: join:,\n", "unknown transform"},
		{"secretStores:\n  a:\n    type: aws.secretsmanager\nenvs:\n  e:\n    X:\n      from: {store: b, key: k}\n", `unknown store "b"`},
		{"secretStores:\n  a:\n    type: aws.secretsmanager\nenvs:\n  e:\n    X:\n      from: {store: a}\n", "from.key is missing"},
		{"secretStores:\n  a:\n    type: aws.secretsmanager\n    external_id: x\n", "external_id needs role_arn"},
		{"envs: [", "invalid YAML"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.yaml, err, c.want)
		}
	}
	// Every problem is reported at once.
	_, err := ParseConfig([]byte("secretStores:\n  v:\n    type: gcp\n  w:\n    type: azure\n"))
	if err == nil || !strings.Contains(err.Error(), "gcp") || !strings.Contains(err.Error(), "azure") {
		t.Errorf("two bad stores: %v", err)
	}
}

func TestBareFromNeedsOneStore(t *testing.T) {
	c, err := ParseConfig([]byte("secretStores:\n  a:\n    type: aws.secretsmanager\nenvs:\n  e:\n    X:\n      from: prod/x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ms, _ := c.Env("e"); len(ms) != 1 || ms[0].Store != "a" || ms[0].Ref.SecretID != "prod/x" {
		t.Errorf("bare from: %+v", ms)
	}
	_, err = ParseConfig([]byte("secretStores:\n  a:\n    type: aws.secretsmanager\n  b:\n    type: aws.secretsmanager\nenvs:\n  e:\n    X:\n      from: prod/x\n"))
	if err == nil || !strings.Contains(err.Error(), "names no store") {
		t.Errorf("bare from with two stores: %v", err)
	}
}
