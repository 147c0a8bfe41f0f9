package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// need returns the path of a client program, skipping the test when it is
// missing on a developer machine and failing it under CI, where .ci/run
// installs it.
func need(t *testing.T, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if filepath.IsAbs(c) {
			if _, err := os.Stat(c); err == nil {
				return c
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("none of %v is installed; .ci/run must install it", candidates)
	}
	t.Skipf("none of %v is installed (apt-get install awscli python3-boto3)", candidates)
	return ""
}

func clientEnv(s *server) []string {
	return append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+testKeyID,
		"AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_REGION="+testRegion,
		"AWS_DEFAULT_REGION="+testRegion,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"COFFER_ENDPOINT="+s.URL,
	)
}

type transcriptStep struct {
	command string
	output  string
}

// readmeTranscript extracts the "$ aws ..." commands of README.md's console
// blocks with the output printed under each.
func readmeTranscript(t *testing.T) []transcriptStep {
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []transcriptStep
	inBlock, collecting := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```console"):
			inBlock = true
		case inBlock && strings.HasPrefix(line, "```"):
			inBlock, collecting = false, false
		case inBlock && strings.HasPrefix(line, "$ "):
			collecting = strings.HasPrefix(line, "$ aws ")
			if collecting {
				steps = append(steps, transcriptStep{command: strings.TrimPrefix(line, "$ ")})
			}
		case inBlock && collecting:
			steps[len(steps)-1].output += line + "\n"
		}
	}
	if len(steps) < 2 {
		t.Fatalf("README.md has %d aws commands in console blocks; want the transcript", len(steps))
	}
	return steps
}

var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(:secret:[A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}"`), `$1-XXXXXX"`},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), `UUID`},
	{regexp.MustCompile(`"\d{4}-\d\d-\d\dT[0-9:.]+[+-]\d\d:\d\d"|\d{10}(\.\d+)?`), `DATE`},
}

// normalize re-indents JSON output and replaces the parts that differ per run.
func normalize(t *testing.T, s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	out := string(b)
	for _, n := range normalizers {
		out = n.re.ReplaceAllString(out, n.with)
	}
	return out
}

// TestReadmeTranscript runs the aws CLI commands of README.md against a real
// server and compares their output with what the README shows.
func TestReadmeTranscript(t *testing.T) {
	awsCLI := need(t, "/usr/bin/aws", "aws")
	s := startServer(t, "")
	for _, step := range readmeTranscript(t) {
		cmdline := strings.Replace(step.command, "aws ", awsCLI+" ", 1)
		cmdline = strings.ReplaceAll(cmdline, "http://127.0.0.1:7700", s.URL)
		cmd := exec.Command("sh", "-c", cmdline)
		cmd.Env = clientEnv(s)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", step.command, err, out)
		}
		if got, want := normalize(t, string(out)), normalize(t, step.output); got != want {
			t.Errorf("%s\n got: %s\nwant: %s", step.command, got, want)
		}
	}
}

// TestBoto3Workflow runs the seed workflow with boto3 (Debian python3-boto3).
func TestBoto3Workflow(t *testing.T) {
	python := need(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import boto3: %v", python, err)
		}
		t.Skipf("%s cannot import boto3 (apt-get install python3-boto3)", python)
	}
	s := startServer(t, "")
	cmd := exec.Command(python, "testdata/boto3_workflow.py")
	cmd.Env = clientEnv(s)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 workflow: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "boto3 workflow ok") {
		t.Fatalf("boto3 workflow did not finish:\n%s", out)
	}
}
