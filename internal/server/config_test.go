package server

import (
	"strings"
	"testing"
)

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	c := Config{Listen: "nonsense", DataDir: "", AccountID: "12", RootAccessKeyID: "AKIAIOSFODNN7EXAMPLE", LogLevel: "loud"}
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"listen address", "data directory", "account id", "must be set together", "log level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	good := Config{Listen: DefaultListen, DataDir: "/tmp/x", AccountID: "123456789012",
		RootAccessKeyID: "AKIAIOSFODNN7EXAMPLE", RootSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", LogLevel: "info"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsFileRoundTrip(t *testing.T) {
	path := t.TempDir() + "/credentials"
	in := credentials{account: "123456789012", keyID: "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if err := writeCredentials(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := readCredentials(path)
	if err != nil || out != in {
		t.Fatalf("read back %+v, %v", out, err)
	}
}
