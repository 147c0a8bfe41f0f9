package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const testRootARN = "arn:aws:iam::" + testAccount + ":root"

// stsClient returns an aws-sdk-go-v2 STS client for the server: the same
// endpoint as Secrets Manager, as chamber and the Secrets Manager Agent use.
func (s *server) stsClient(keyID, secret string) *sts.Client {
	return sts.New(sts.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func TestGetCallerIdentityWithSDK(t *testing.T) {
	s := startServer(t, "")
	ctx := ctx(t)

	out, err := s.stsClient(testKeyID, testSecretKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Account); got != testAccount {
		t.Errorf("Account %q, want %q", got, testAccount)
	}
	if got := aws.ToString(out.UserId); got != testAccount {
		t.Errorf("UserId %q, want the account id %q (root principal)", got, testAccount)
	}
	if got := aws.ToString(out.Arn); got != testRootARN {
		t.Errorf("Arn %q, want %q", got, testRootARN)
	}

	// The listener still serves Secrets Manager afterwards.
	if _, err := s.client(testRegion).ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatalf("ListSecrets after GetCallerIdentity: %v", err)
	}

	cases := []struct {
		name, keyID, secret, code, msg string
	}{
		{"unknown key", "AKIAUNKNOWNKEY000000", testSecretKey, "InvalidClientTokenId",
			"The security token included in the request is invalid."},
		{"wrong secret", testKeyID, "wrong-secret-wrong-secret-wrong", "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.stsClient(tc.keyID, tc.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			wantAPIError(t, err, tc.code, tc.msg)
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
				t.Errorf("want HTTP 403, got %v", err)
			}
			if re != nil && re.ServiceRequestID() == "" {
				t.Errorf("no request id in %v", err)
			}
		})
	}
}

func TestGetCallerIdentityWithCLI(t *testing.T) {
	awsCLI := need(t, "/usr/bin/aws", "aws")
	s := startServer(t, "")

	cmd := exec.Command(awsCLI, "--endpoint-url", s.URL, "sts", "get-caller-identity")
	cmd.Env = clientEnv(s)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws sts get-caller-identity: %v\n%s%s", err, out, stderrOf(err))
	}
	var id struct{ UserId, Account, Arn string }
	if err := json.Unmarshal(out, &id); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if id.Account != testAccount || id.UserId != testAccount || id.Arn != testRootARN {
		t.Errorf("got %+v", id)
	}

	// A wrong key: the CLI prints STS's code and message.
	cmd = exec.Command(awsCLI, "--endpoint-url", s.URL, "sts", "get-caller-identity")
	cmd.Env = append(clientEnv(s), "AWS_ACCESS_KEY_ID=AKIAUNKNOWNKEY000000")
	out, err = cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("unknown key accepted:\n%s", out)
	}
	if want := "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: " +
		"The security token included in the request is invalid."; !strings.Contains(string(out), want) {
		t.Errorf("got:\n%s\nwant it to contain:\n%s", out, want)
	}
}

// stderrOf returns what a failed command printed on stderr.
func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
