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
