package smapi

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modelPath = "../../../third_party/botocore/service-2.json"

// TestGenerated regenerates the wire types and fails when the committed
// zz_generated.go differs: run go generate ./internal/awsapi/smapi.
func TestGenerated(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found (go test puts GOROOT/bin on PATH): %v", err)
	}
	// Read the generator's sources so that go test's cache notices when
	// they change (the go run child's reads are not tracked).
	srcs, err := filepath.Glob("../gen/*.go")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("generator sources: %v", err)
	}
	for _, src := range srcs {
		if _, err := os.ReadFile(src); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "zz_generated.go")
	cmd := exec.Command(goTool, "run", "../gen", "-model", modelPath, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ../gen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("zz_generated.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "<end of file>"
		}
		t.Fatalf("zz_generated.go is stale; run go generate ./internal/awsapi/smapi\n"+
			"first difference at line %d:\ncommitted: %s\ngenerated: %s", i+1, line(gl), line(wl))
	}
}

// modelShapes reads the shapes of the model.
func modelShapes(t *testing.T) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Shapes map[string]map[string]any `json:"shapes"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Shapes
}

// TestPatterns checks that every pattern of the model made it into the
// generated code as a compiling, anchored Go regexp.
func TestPatterns(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "zz_generated.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	compiled := map[string]string{} // var name -> Go pattern
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		call, ok := vs.Values[0].(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "MustCompile" {
			return true
		}
		lit := call.Args[0].(*ast.BasicLit)
		p, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		compiled[vs.Names[0].Name] = p
		return true
	})
	var want []string
	for name, s := range modelShapes(t) {
		if _, ok := s["pattern"]; ok {
			want = append(want, "pattern"+name)
		}
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range compiled {
			if !yield(k) {
				return
			}
		}
	})
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("pattern vars = %v, want %v", got, want)
	}
	for name, p := range compiled {
		if _, err := regexp.Compile(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.HasPrefix(p, "^(?:") || !strings.HasSuffix(p, ")$") {
			t.Errorf("%s = %q: not anchored", name, p)
		}
	}
}

func TestPatternSemantics(t *testing.T) {
	tests := []struct {
		re    *regexp.Regexp
		value string
		ok    bool
	}{
		{patternRegionType, "us-east-1", true},
		{patternRegionType, "us-gov-west-1", true},
		{patternRegionType, "US-EAST-1", false},
		{patternRegionType, "us-east-1\n", false},
		{patternRegionType, "xus-east-1x", false},
		{patternDurationType, "3h", true},
		{patternDurationType, "3h ", false},
		{patternDurationType, "3d", false},
		{patternScheduleExpressionType, "rate(10 days)", true},
		{patternScheduleExpressionType, "cron(0 16 1,15 * ? *)", true},
		{patternScheduleExpressionType, "rate(10 days);", false},
		{patternFilterValueStringType, "!prod/db-1", true},
		{patternFilterValueStringType, "", true},
		{patternFilterValueStringType, "a*b", false},
		{patternRotationTokenType, "0d8f7e0e-5c2b-4b8a-9f0a-6f1d2c3b4a59", true},
		{patternRotationTokenType, "token with space", false},
	}
	for _, tt := range tests {
		if got := tt.re.MatchString(tt.value); got != tt.ok {
			t.Errorf("%v.MatchString(%q) = %v, want %v", tt.re, tt.value, got, tt.ok)
		}
	}
}

func TestTables(t *testing.T) {
	if len(OperationNames) != 23 || !slices.IsSorted(OperationNames) {
		t.Errorf("OperationNames = %v: want 23 sorted names", OperationNames)
	}
	for _, op := range []string{"GetSecretValue", "BatchGetSecretValue", "TagResource", "ValidateResourcePolicy"} {
		if !slices.Contains(OperationNames, op) {
			t.Errorf("OperationNames lacks %s", op)
		}
	}
	if len(ErrorShapes) != 12 || len(ErrorFault) != len(ErrorShapes) {
		t.Errorf("ErrorShapes has %d, ErrorFault %d entries, want 12", len(ErrorShapes), len(ErrorFault))
	}
	for name, fault := range ErrorFault {
		if !ErrorShapes[name] {
			t.Errorf("ErrorFault[%s] is not in ErrorShapes", name)
		}
		if fault != (name == "InternalServiceError") {
			t.Errorf("ErrorFault[%s] = %v", name, fault)
		}
	}
	if !ErrorShapes["ResourceNotFoundException"] || ErrorShapes["ValidationException"] {
		t.Error("ErrorShapes: wrong membership")
	}
	if FilterNameStringTypeTagKey != "tag-key" || StatusTypeInSync != "InSync" || SortOrderTypeDesc != "desc" {
		t.Error("enum constants have wrong values")
	}
}
