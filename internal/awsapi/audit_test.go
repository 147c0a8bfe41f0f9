package awsapi

import (
	"fmt"
	"testing"
)

func TestLowerCamel(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "",
		"SecretId":                    "secretId",
		"ARN":                         "arn",
		"KmsKeyId":                    "kmsKeyId",
		"secretId":                    "secretId",
		"ÉtéName":                     "étéName",
		"ClientRequestToken":          "clientRequestToken",
		"ForceOverwriteReplicaSecret": "forceOverwriteReplicaSecret",
	} {
		for range 2 { // the second time from memory
			if got := lowerCamel(in); got != want {
				t.Errorf("lowerCamel(%q) = %q, want %q", in, got, want)
			}
		}
	}
}

// TestLowerCamelMemoryIsBounded: names a caller makes up (Query protocol
// parameters) are spelt right but not all remembered.
func TestLowerCamelMemoryIsBounded(t *testing.T) {
	for i := range 3 * maxCamelNames {
		name := fmt.Sprintf("Made%dUp", i)
		if got, want := lowerCamel(name), fmt.Sprintf("made%dUp", i); got != want {
			t.Fatalf("lowerCamel(%q) = %q, want %q", name, got, want)
		}
	}
	n := 0
	camelNames.Range(func(any, any) bool { n++; return true })
	if n > maxCamelNames {
		t.Errorf("lowerCamel remembers %d names, want at most %d", n, maxCamelNames)
	}
}

func TestSecretResource(t *testing.T) {
	for _, c := range []struct {
		arn, account string
		ok           bool
	}{
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", "123456789012", true},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:a:b:c", "123456789012", true},
		{"arn:aws:secretsmanager:us-east-1:123456789012:", "123456789012", true},
		{"arn:aws:secretsmanager:us-east-1:123456789012", "", false}, // no resource
		{"arn:aws:secretsmanager:us-east-1::secret:x", "", false},    // no account
		{"", "", false},
		{"db", "", false},
	} {
		r, ok := secretResource(c.arn)
		if ok != c.ok || (ok && (r.AccountID != c.account || r.ARN != c.arn || r.Type != "AWS::SecretsManager::Secret")) {
			t.Errorf("secretResource(%q) = %+v, %v; want account %q, %v", c.arn, r, ok, c.account, c.ok)
		}
	}
}
