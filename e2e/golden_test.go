package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden wire exchanges in testdata/golden from the server's answers")

// A golden file is a sequence of exchanges run in order against one fresh
// server:
//
//	### what this exchange shows
//	> Operation
//	> {request body}
//	< status
//	< {response body, ids and dates normalised}
//
// Lines starting with "#" outside an exchange header are comments.
type exchange struct {
	title, op, request string
	status             int
	response           string
}

func parseGolden(t *testing.T, path string) []exchange {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []exchange
	var cur *exchange
	var req []string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "### "):
			out = append(out, exchange{title: strings.TrimPrefix(line, "### ")})
			cur, req = &out[len(out)-1], nil
		case cur == nil || line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "> ") && cur.op == "":
			cur.op = strings.TrimPrefix(line, "> ")
		case strings.HasPrefix(line, "> "):
			req = append(req, strings.TrimPrefix(line, "> "))
			cur.request = strings.Join(req, "\n")
		case strings.HasPrefix(line, "< ") && cur.status == 0:
			fmt.Sscan(strings.TrimPrefix(line, "< "), &cur.status)
		case strings.HasPrefix(line, "< "):
			cur.response = strings.TrimPrefix(line, "< ")
		default:
			t.Fatalf("%s: unexpected line %q", path, line)
		}
	}
	return out
}

var goldenNormalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(:secret:[A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}(\.?")`), `$1-XXXXXX$2`},
	{regexp.MustCompile(`("(?:CreatedDate|LastChangedDate|LastAccessedDate|DeletedDate|DeletionDate)":)[0-9.e+]+`), `$1"<date>"`},
	{regexp.MustCompile(`("NextToken":)"[^"]+"`), `$1"<token>"`},
	{regexp.MustCompile(`("RandomPassword":)"(?:[^"\\]|\\.)*"`), `$1"<password>"`},
	{regexp.MustCompile(`(Signature expired: |not yet current: )\d{8}T\d{6}Z( is (?:now earlier|still later) than )\d{8}T\d{6}Z \(\d{8}T\d{6}Z`), `$1<t>$2<t> (<t>`},
}

func normalizeWire(body []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, body) == nil {
		body = buf.Bytes()
	}
	s := string(body)
	for _, n := range goldenNormalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// TestGoldenWire replays every golden file against a fresh server and
// compares status and body byte for byte (after normalisation).
func TestGoldenWire(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.txt")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			s := startServer(t, "")
			exs := parseGolden(t, path)
			var out strings.Builder
			head, _, _ := strings.Cut(string(must(os.ReadFile(path))), "### ")
			out.WriteString(head)
			for _, ex := range exs {
				at := time.Now()
				if strings.Contains(ex.title, "unsigned") {
					at = time.Time{}
				} else if strings.Contains(ex.title, "skew") {
					at = at.Add(-10 * time.Minute)
				}
				resp, raw := s.rawExchange(t, ex.op, ex.request, at)
				got := normalizeWire(raw)
				if *update {
					fmt.Fprintf(&out, "### %s\n> %s\n> %s\n< %d\n< %s\n\n", ex.title, ex.op, ex.request, resp.StatusCode, got)
					continue
				}
				if resp.StatusCode != ex.status || got != ex.response {
					t.Errorf("%s (%s):\n got %d %s\nwant %d %s", ex.title, ex.op, resp.StatusCode, got, ex.status, ex.response)
				}
			}
			if *update {
				if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
