package cli

import (
	"slices"
	"testing"
)

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		`/usr/bin/python3 /opt/wrap.py`:         {"/usr/bin/python3", "/opt/wrap.py"},
		`  a   b  `:                             {"a", "b"},
		`sh -c 'echo "$HOME" > x'`:              {"sh", "-c", `echo "$HOME" > x`},
		`prog "two words" "q\"uote" "back\\sl"`: {"prog", "two words", `q"uote`, `back\sl`},
		`a\ b c`:                                {"a b", "c"},
		`x''y ""`:                               {"xy", ""},
		`"\n"`:                                  {`\n`},
	} {
		got, err := splitWords(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`'open`, `"open`, `trailing\`} {
		if _, err := splitWords(in); err == nil {
			t.Errorf("splitWords(%q): no error", in)
		}
	}
}
