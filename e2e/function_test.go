package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// createPythonRotator registers testdata/rotate_wrapper.py, run by python3
// with boto3, as the exec function pyrot in a fresh data directory, with
// MARKER_DIR set to a fresh directory and extra flags for functions create.
// It skips the test when python3-boto3 is missing (fails it under CI).
func createPythonRotator(t *testing.T, extra ...string) (dir, markers string) {
	t.Helper()
	python := need(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-boto3 is not installed; .ci/run must install it")
		}
		t.Skip("python3-boto3 is not installed")
	}
	dir = t.TempDir()
	first := startServer(t, dir)
	first.Stop()
	wrapper, err := filepath.Abs("testdata/rotate_wrapper.py")
	if err != nil {
		t.Fatal(err)
	}
	markers = t.TempDir()
	args := append([]string{"functions", "create", "--name", "pyrot", "--data-dir", dir,
		"--exec", python + " " + wrapper, "--env", "MARKER_DIR=" + markers}, extra...)
	if out, err := exec.Command(binPath, args...).CombinedOutput(); err != nil {
		t.Fatalf("coffer functions create: %v\n%s", err, out)
	}
	return dir, markers
}

// TestRotationWithPythonFunction: a rotation function written for Lambda
// (boto3, lambda_handler) runs unchanged as a coffer exec function with a
// three-line wrapper, with credentials allowed on its one secret only.
func TestRotationWithPythonFunction(t *testing.T) {
	dir, markers := createPythonRotator(t)

	s := startServer(t, dir)
	c := s.client(testRegion)
	cx := ctx(t)
	if _, err := c.CreateSecret(cx, &secretsmanager.CreateSecretInput{Name: aws.String("app/token"), SecretString: aws.String(`{"user":"app","password":"first"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecret(cx, &secretsmanager.CreateSecretInput{Name: aws.String("other"), SecretString: aws.String("untouched")}); err != nil {
		t.Fatal(err)
	}
	rot, err := c.RotateSecret(cx, &secretsmanager.RotateSecretInput{
		SecretId:          aws.String("app/token"),
		RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:123456789012:function:pyrot"),
		RotationRules:     &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	if err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	token := aws.ToString(rot.VersionId)

	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := c.DescribeSecret(cx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("app/token")})
		if err != nil {
			t.Fatal(err)
		}
		stages := d.VersionIdsToStages[token]
		if len(stages) == 1 && stages[0] == "AWSCURRENT" && d.LastRotatedDate != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotation did not finish: stages %v; server stderr:\n%s", d.VersionIdsToStages, s.Stderr())
		}
		time.Sleep(200 * time.Millisecond)
	}
	v, err := c.GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/token")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v.VersionId) != token || !strings.Contains(aws.ToString(v.SecretString), `"user": "app"`) || strings.Contains(aws.ToString(v.SecretString), "first") {
		t.Fatalf("AWSCURRENT after rotation is version %s (want %s), value changed: %v", aws.ToString(v.VersionId), token, !strings.Contains(aws.ToString(v.SecretString), "first"))
	}
	prev, err := c.GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/token"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || !strings.Contains(aws.ToString(prev.SecretString), "first") {
		t.Fatalf("AWSPREVIOUS after rotation: %v", err)
	}
	if _, err := os.Stat(filepath.Join(markers, token+".set")); err != nil {
		t.Fatalf("setSecret did not run: %v", err)
	}
	// The function's credentials were scoped to app/token: the other secret is untouched.
	o, err := c.GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("other")})
	if err != nil || aws.ToString(o.SecretString) != "untouched" {
		t.Fatalf("other secret: %v", err)
	}
	if strings.Contains(s.Stderr()+s.Stdout(), aws.ToString(v.SecretString)) {
		t.Fatal("the new value appears in the server's output")
	}
}

// TestRotationResumesAfterCrash: coffer killed with SIGKILL in the middle of
// setSecret resumes the rotation from its AWSPENDING version after a
// restart, with the same pending value, and finishes it.
func TestRotationResumesAfterCrash(t *testing.T) {
	dir, markers := createPythonRotator(t, "--timeout", "15m", "--env", "HANG_AT=setSecret")
	s := startServer(t, dir)
	c := s.client(testRegion)
	cx := ctx(t)
	if _, err := c.CreateSecret(cx, &secretsmanager.CreateSecretInput{Name: aws.String("app/token"), SecretString: aws.String(`{"password":"first"}`)}); err != nil {
		t.Fatal(err)
	}
	rot, err := c.RotateSecret(cx, &secretsmanager.RotateSecretInput{
		SecretId:          aws.String("app/token"),
		RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:123456789012:function:pyrot"),
		RotationRules:     &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	if err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	token := aws.ToString(rot.VersionId)
	// Wait until setSecret hangs: createSecret has stored the pending value.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(markers, "hung-setSecret")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("setSecret never started; server stderr:\n%s", s.Stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}
	pending, err := c.GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/token"), VersionId: aws.String(token), VersionStage: aws.String("AWSPENDING")})
	if err != nil {
		t.Fatalf("pending value before the crash: %v", err)
	}
	s.Kill()

	s2 := startServer(t, dir)
	c2 := s2.client(testRegion)
	deadline = time.Now().Add(90 * time.Second)
	for {
		d, err := c2.DescribeSecret(cx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("app/token")})
		if err != nil {
			t.Fatal(err)
		}
		if st := d.VersionIdsToStages[token]; len(st) == 1 && st[0] == "AWSCURRENT" && d.LastRotatedDate != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotation did not resume: stages %v; server stderr:\n%s", d.VersionIdsToStages, s2.Stderr())
		}
		time.Sleep(250 * time.Millisecond)
	}
	v, err := c2.GetSecretValue(cx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/token")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v.SecretString) != aws.ToString(pending.SecretString) {
		t.Fatal("the resumed rotation made a second new password instead of finishing the pending one")
	}
	if _, err := os.Stat(filepath.Join(markers, token+".set")); err != nil {
		t.Fatalf("setSecret did not complete after the restart: %v", err)
	}
}
