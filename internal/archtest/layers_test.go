package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/coffer-dev/coffer/"

// rule forbids packages matching from (a prefix under the module) to import
// anything matching one of the forbidden prefixes (module-relative when they
// start with "internal/", otherwise full import paths).
type rule struct {
	from      string
	forbidden []string
}

var drivers = []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/go-sql-driver/mysql", "database/sql"}

var rules = []rule{
	{"internal/awsapi", append([]string{"internal/storage", "internal/envelope", "internal/seal", "internal/server"}, drivers...)},
	{"internal/secrets", append([]string{"net/http", "internal/awsapi", "internal/storage/", "internal/seal", "internal/server"}, drivers...)},
	{"internal/iam", append([]string{"net/http", "internal/awsapi", "internal/storage/", "internal/seal", "internal/secrets", "internal/server"}, drivers...)},
	{"internal/envelope", []string{"internal/", "net", "os", "database/sql"}},
	{"internal/policy", []string{"internal/", "net", "os", "database/sql"}},
	{"internal/storage/", []string{"internal/secrets", "internal/envelope", "internal/policy", "internal/iam", "internal/awsapi", "internal/seal"}},
	{"internal/storage", []string{"internal/secrets", "internal/envelope", "internal/awsapi", "net/http"}},
	{"internal/seal", []string{"internal/storage", "internal/secrets", "internal/awsapi", "net/http"}},
	{"internal/runenv", append([]string{"internal/secrets", "internal/storage", "internal/awsapi", "internal/server", "internal/iam", "internal/envelope", "internal/seal", "internal/policy"}, drivers...)},
	{"internal/agent", append([]string{"internal/secrets", "internal/storage", "internal/awsapi", "internal/server", "internal/iam", "internal/envelope", "internal/seal", "internal/policy", "internal/runenv"}, drivers...)},
	{"cmd/", []string{"internal/server", "internal/awsapi", "internal/secrets", "internal/storage"}},
}

// matches reports whether path is prefix itself or below it. A prefix ending
// in "/" matches only what is below it.
func matches(path, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// TestLayers checks the direct, non-test imports of every package.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(fields[0], mod)
		for _, r := range rules {
			if !matches(pkg, r.from) {
				continue
			}
			checked++
			for _, imp := range fields[1:] {
				ours := strings.HasPrefix(imp, mod)
				rel := strings.TrimPrefix(imp, mod)
				if ours && matches(rel, pkg+"/") {
					continue // a package may use its own sub-packages (awsapi -> awsapi/smapi)
				}
				for _, f := range r.forbidden {
					if strings.HasPrefix(f, "internal/") != ours {
						continue
					}
					if matches(rel, f) {
						t.Errorf("%s imports %s, which the rule for %s forbids", pkg, imp, r.from)
					}
				}
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d packages matched a rule: the test checks nothing", checked)
	}
}
