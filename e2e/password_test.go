package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

const (
	pwLower = "abcdefghijklmnopqrstuvwxyz"
	pwUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pwDigit = "0123456789"
	pwPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

// checkPassword fails unless p has length n, none of never and a character
// of each set in each.
func checkPassword(t *testing.T, p string, n int, never string, each ...string) {
	t.Helper()
	if len(p) != n {
		t.Errorf("password of %d characters, want %d", len(p), n)
	}
	if strings.ContainsAny(p, never) {
		t.Errorf("password has a character of %q", never)
	}
	if strings.Trim(p, pwLower+pwUpper+pwDigit+pwPunct+" ") != "" {
		t.Errorf("password has characters outside AWS's sets")
	}
	for _, set := range each {
		if !strings.ContainsAny(p, set) {
			t.Errorf("password lacks a character of %q", set)
		}
	}
}

func TestGetRandomPasswordWithSDK(t *testing.T) {
	s := startServer(t, "")
	c := s.client(testRegion)
	ctx := ctx(t)

	out, err := c.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{})
	if err != nil {
		t.Fatal(err)
	}
	checkPassword(t, aws.ToString(out.RandomPassword), 32, " ", pwLower, pwUpper, pwDigit, pwPunct)

	// What the AWS rotation templates send (PostgreSQL variant).
	for range 20 {
		out, err = c.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{
			PasswordLength:          aws.Int64(24),
			ExcludeCharacters:       aws.String(`:/@"'\`),
			ExcludeNumbers:          aws.Bool(false),
			ExcludePunctuation:      aws.Bool(false),
			ExcludeUppercase:        aws.Bool(false),
			ExcludeLowercase:        aws.Bool(false),
			RequireEachIncludedType: aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		checkPassword(t, aws.ToString(out.RandomPassword), 24, `:/@"'\ `, pwLower, pwUpper, pwDigit)
	}

	out, err = c.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{
		PasswordLength: aws.Int64(4096), ExcludePunctuation: aws.Bool(true), IncludeSpace: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	checkPassword(t, aws.ToString(out.RandomPassword), 4096, pwPunct, pwLower, pwUpper, pwDigit, " ")

	errCases := []struct {
		name string
		in   *secretsmanager.GetRandomPasswordInput
		code string
		msg  string
	}{
		{"shorter than the required types", &secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(3)},
			"InvalidParameterException", "Password length is too short based on the required types."},
		{"a required class emptied", &secretsmanager.GetRandomPasswordInput{ExcludeCharacters: aws.String(pwDigit)},
			"InvalidParameterException", "All characters of the desired type have been excluded."},
		{"everything excluded", &secretsmanager.GetRandomPasswordInput{
			ExcludeLowercase: aws.Bool(true), ExcludeUppercase: aws.Bool(true),
			ExcludeNumbers: aws.Bool(true), ExcludePunctuation: aws.Bool(true)},
			"InvalidParameterException", "All characters have been excluded from selection."},
		{"too long", &secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(4097)},
			"ValidationException", "1 validation error detected: Value '4097' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetRandomPassword(ctx, tc.in)
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
}

func TestGetRandomPasswordWithCLI(t *testing.T) {
	awsCLI := need(t, "/usr/bin/aws", "aws")
	s := startServer(t, "")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", s.URL, "secretsmanager", "get-random-password"}, args...)...)
		cmd.Env = clientEnv(s)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return string(out), err
		}
		var res struct{ RandomPassword string }
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		return res.RandomPassword, nil
	}

	p, err := run()
	if err != nil {
		t.Fatalf("defaults: %v\n%s", err, p)
	}
	checkPassword(t, p, 32, " ", pwLower, pwUpper, pwDigit, pwPunct)

	p, err = run("--password-length", "20", `--exclude-characters=/@"'\`, "--require-each-included-type")
	if err != nil {
		t.Fatalf("rotation-style call: %v\n%s", err, p)
	}
	checkPassword(t, p, 20, `/@"'\ `, pwLower, pwUpper, pwDigit)

	p, err = run("--password-length", "12", "--exclude-punctuation", "--exclude-uppercase", "--no-require-each-included-type")
	if err != nil {
		t.Fatalf("lowercase and digits: %v\n%s", err, p)
	}
	checkPassword(t, p, 12, pwPunct+pwUpper+" ")

	out, err := run("--password-length", "2")
	if err == nil {
		t.Fatalf("length 2 with four required types accepted: %q", out)
	}
	if want := "An error occurred (InvalidParameterException) when calling the GetRandomPassword operation: " +
		"Password length is too short based on the required types."; !strings.Contains(out, want) {
		t.Errorf("got:\n%s\nwant it to contain:\n%s", out, want)
	}
}
