package runenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Formats are the output formats of Render.
var Formats = []string{"dotenv", "json", "yaml"}

// Render formats vars as a dotenv file, a JSON object or a YAML mapping, in
// the order given.
//
// dotenv values are single-quoted when they contain no single quote and no
// newline (no expansion happens inside single quotes in dotenv parsers);
// otherwise they are double-quoted with \\, \", \$, \n and \r escaped.
func Render(format string, vars []Var) ([]byte, error) {
	var b bytes.Buffer
	switch format {
	case "dotenv":
		for _, v := range vars {
			b.WriteString(v.Name + "=" + dotenvQuote(v.Value) + "\n")
		}
	case "json":
		b.WriteString("{")
		for i, v := range vars {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n  ")
			writeJSONString(&b, v.Name)
			b.WriteString(": ")
			writeJSONString(&b, v.Value)
		}
		if len(vars) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("}\n")
	case "yaml":
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, v := range vars {
			n.Content = append(n.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.Name},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.Value})
		}
		if len(vars) == 0 {
			b.WriteString("{}\n")
			break
		}
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(n); err != nil {
			return nil, fmt.Errorf("encoding YAML: %w", err)
		}
		_ = enc.Close()
	default:
		return nil, fmt.Errorf("unknown format %q (use %s)", format, strings.Join(Formats, ", "))
	}
	return b.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

func dotenvQuote(v string) string {
	if !strings.ContainsAny(v, "'\n\r") {
		return "'" + v + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(v) + `"`
}

// WriteFile writes data to path with mode 0600: into a new file in the same
// directory, renamed over path, so the result has mode 0600 even when path
// existed with a wider mode, and no reader sees a half-written file.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}
