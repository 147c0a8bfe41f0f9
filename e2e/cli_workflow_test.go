package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestCLIWorkflow runs the seed workflow with the real aws CLI (Debian's
// awscli): every step a user types, checked on the JSON the CLI prints.
func TestCLIWorkflow(t *testing.T) {
	awsCLI := need(t, "/usr/bin/aws", "aws")
	s := startServer(t, "")
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", s.URL, "--output", "json", "secretsmanager"}, args...)...)
		cmd.Env = clientEnv(s)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws secretsmanager %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var v map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("aws %s printed %q: %v", args[0], out, err)
			}
		}
		return v
	}
	fail := func(want string, args ...string) {
		t.Helper()
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", s.URL, "secretsmanager"}, args...)...)
		cmd.Env = clientEnv(s)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Fatalf("aws secretsmanager %s: %v\n%s\nwant an error containing %q", strings.Join(args, " "), err, out, want)
		}
	}
	names := func(v map[string]any, key string) []string {
		var out []string
		for _, e := range v[key].([]any) {
			out = append(out, e.(map[string]any)["Name"].(string))
		}
		return out
	}

	run("create-secret", "--name", "prod/api/db", "--description", "API database", "--secret-string", `{"username":"api","password":"p1"}`, "--tags", "Key=env,Value=prod")
	run("create-secret", "--name", "dev/api/db", "--secret-string", `{"username":"api","password":"d1"}`)
	if v := run("get-secret-value", "--secret-id", "prod/api/db"); v["SecretString"] != `{"username":"api","password":"p1"}` {
		t.Fatalf("get-secret-value = %v", v)
	}
	run("put-secret-value", "--secret-id", "prod/api/db", "--secret-string", `{"username":"api","password":"p2"}`)
	if v := run("get-secret-value", "--secret-id", "prod/api/db", "--version-stage", "AWSPREVIOUS"); v["SecretString"] != `{"username":"api","password":"p1"}` {
		t.Fatalf("AWSPREVIOUS = %v", v)
	}
	if v := run("list-secret-version-ids", "--secret-id", "prod/api/db"); len(v["Versions"].([]any)) != 2 {
		t.Fatalf("list-secret-version-ids = %v", v)
	}
	if v := run("describe-secret", "--secret-id", "prod/api/db"); v["Description"] != "API database" || len(v["VersionIdsToStages"].(map[string]any)) != 2 {
		t.Fatalf("describe-secret = %v", v)
	}
	if got := names(run("list-secrets", "--filters", "Key=name,Values=prod/"), "SecretList"); strings.Join(got, ",") != "prod/api/db" {
		t.Fatalf("list-secrets --filters name = %v", got)
	}
	if got := names(run("list-secrets", "--filters", "Key=tag-key,Values=!env", "--sort-order", "desc"), "SecretList"); strings.Join(got, ",") != "dev/api/db" {
		t.Fatalf("list-secrets negated tag-key = %v", got)
	}
	run("tag-resource", "--secret-id", "dev/api/db", "--tags", "Key=team,Value=api")
	run("untag-resource", "--secret-id", "prod/api/db", "--tag-keys", "env")
	if v := run("describe-secret", "--secret-id", "prod/api/db"); len(v["Tags"].([]any)) != 0 {
		t.Fatalf("tags after untag-resource = %v", v["Tags"])
	}
	run("delete-secret", "--secret-id", "prod/api/db", "--recovery-window-in-days", "7")
	fail("marked for deletion", "get-secret-value", "--secret-id", "prod/api/db")
	run("restore-secret", "--secret-id", "prod/api/db")
	run("delete-secret", "--secret-id", "prod/api/db", "--force-delete-without-recovery")
	fail("ResourceNotFoundException", "describe-secret", "--secret-id", "prod/api/db")
	if v := run("get-random-password", "--password-length", "24", "--exclude-punctuation"); len(v["RandomPassword"].(string)) != 24 {
		t.Fatalf("get-random-password = %v", v)
	}
}
