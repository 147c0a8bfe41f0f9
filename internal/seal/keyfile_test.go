package seal_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/envelope"
	"github.com/coffer-dev/coffer/internal/seal"
)

var bg = context.Background()

func openKeyFile(t *testing.T, path string) *seal.KeyFile {
	t.Helper()
	k, err := seal.OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func skipOnWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits on Windows")
	}
}

func TestCreateThenReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "keys", "root.key")
	k1 := openKeyFile(t, path)
	if !k1.Created() || k1.Path() != path || len(k1.ID()) != 16 {
		t.Fatalf("first open: Created=%v Path=%q ID=%q", k1.Created(), k1.Path(), k1.ID())
	}
	k2 := openKeyFile(t, path)
	if k2.Created() {
		t.Error("second open reports Created")
	}
	if k1.ID() != k2.ID() {
		t.Errorf("IDs differ: %s, %s", k1.ID(), k2.ID())
	}

	aad := []byte("kek:123456789012:us-east-1:alias/aws/secretsmanager")
	kek := bytes.Repeat([]byte{0xa5}, 32)
	ct, err := k1.Wrap(bg, kek, aad)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != len(kek)+40 {
		t.Errorf("len(wrapped) = %d, want %d", len(ct), len(kek)+40)
	}
	got, err := k2.Unwrap(bg, ct, aad)
	if err != nil || !bytes.Equal(got, kek) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}

	// Empty plaintext and nil aad are fine.
	ct, err = k2.Wrap(bg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k1.Unwrap(bg, ct, nil); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Unwrap(empty) = %q, %v", got, err)
	}
}

func TestCreatedFileMode(t *testing.T) {
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "root.key")
	openKeyFile(t, path)
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", p, got, want)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 65 || b[64] != '\n' {
		t.Errorf("key file holds %d bytes, want 64 hex digits and a newline", len(b))
	}
	if _, err := hex.DecodeString(string(b[:64])); err != nil {
		t.Errorf("key file is not hex: %v", err)
	}
}

func TestRefusesOpenPermissions(t *testing.T) {
	skipOnWindows(t)
	path := filepath.Join(t.TempDir(), "root.key")
	openKeyFile(t, path)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := seal.OpenKeyFile(path)
		if err == nil {
			t.Fatalf("mode %04o accepted", mode)
		}
		msg := err.Error()
		if !strings.Contains(msg, path) || !strings.Contains(msg, "chmod 600 "+path) || !strings.Contains(msg, fmt.Sprintf("%04o", mode)) {
			t.Errorf("mode %04o: error %q does not name the path, the mode and the fix", mode, msg)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	openKeyFile(t, path) // read-only for the owner is fine
}

func TestExistingFile(t *testing.T) {
	skipOnWindows(t)
	key := bytes.Repeat([]byte{0x3c}, 32)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lower := hex.EncodeToString(key)
	var ids []string
	for name, content := range map[string]string{
		"plain":   lower,
		"newline": lower + "\n",
		"crlf":    lower + "\r\n",
		"upper":   strings.ToUpper(lower) + "\n",
	} {
		k := openKeyFile(t, write(name, content))
		if k.Created() {
			t.Errorf("%s: Created on an existing file", name)
		}
		ids = append(ids, k.ID())
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("same key, different ids: %q", ids)
		}
	}

	secretish := "zz" + lower[2:]
	for name, content := range map[string]string{
		"empty":      "",
		"short":      lower[:32] + "\n",
		"long":       lower + "00\n",
		"raw bytes":  string(key),
		"not hex":    secretish,
		"two keys":   lower + "\n" + lower + "\n",
		"huge":       strings.Repeat(" ", 4096) + lower,
		"inner junk": lower[:32] + " " + lower[32:],
	} {
		p := write(strings.ReplaceAll(name, " ", "-"), content)
		_, err := seal.OpenKeyFile(p)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "64 hex digits") && !strings.Contains(err.Error(), "hex digit") {
			t.Errorf("%s: unclear error %q", name, err)
		}
		if strings.Contains(err.Error(), lower[4:20]) || strings.Contains(err.Error(), "zz") || strings.Contains(err.Error(), "'z'") {
			t.Errorf("%s: error shows file content: %q", name, err)
		}
	}

	if _, err := seal.OpenKeyFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := seal.OpenKeyFile(""); err == nil {
		t.Error("empty path accepted")
	}
}

func TestUnwrapFailures(t *testing.T) {
	dir := t.TempDir()
	k := openKeyFile(t, filepath.Join(dir, "a.key"))
	other := openKeyFile(t, filepath.Join(dir, "b.key"))
	aad := []byte("aad")
	ct, err := k.Wrap(bg, []byte("0123456789abcdef0123456789abcdef"), aad)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("wrong aad", func(t *testing.T) {
		for _, a := range [][]byte{nil, []byte("aa"), []byte("aadd"), []byte("AAD")} {
			if _, err := k.Unwrap(bg, ct, a); !errors.Is(err, envelope.ErrOpen) {
				t.Errorf("aad %q: %v, want ErrOpen", a, err)
			}
		}
	})
	t.Run("other root key", func(t *testing.T) {
		_, err := other.Unwrap(bg, ct, aad)
		if !errors.Is(err, envelope.ErrOpen) || !strings.Contains(err.Error(), k.ID()) || !strings.Contains(err.Error(), other.ID()) {
			t.Errorf("Unwrap = %v, want ErrOpen naming both key ids", err)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		for i := range ct {
			for bit := range 8 {
				c := bytes.Clone(ct)
				c[i] ^= 1 << bit
				_, err := k.Unwrap(bg, c, aad)
				if !errors.Is(err, envelope.ErrOpen) && !errors.Is(err, envelope.ErrFormat) {
					t.Fatalf("byte %d bit %d: %v, want ErrOpen or ErrFormat", i, bit, err)
				}
			}
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for n := range len(ct) {
			_, err := k.Unwrap(bg, ct[:n], aad)
			if !errors.Is(err, envelope.ErrOpen) && !errors.Is(err, envelope.ErrFormat) {
				t.Fatalf("len %d: %v, want ErrOpen or ErrFormat", n, err)
			}
		}
	})
	t.Run("envelope ciphertext", func(t *testing.T) {
		key, _ := envelope.NewKey()
		kek, _ := envelope.NewKEK("k", key)
		c, _ := envelope.Seal(kek, []byte("x"), nil)
		if _, err := k.Unwrap(bg, c, nil); !errors.Is(err, envelope.ErrFormat) {
			t.Errorf("Unwrap = %v, want ErrFormat", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(bg)
		cancel()
		if _, err := k.Wrap(ctx, []byte("x"), nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Wrap = %v, want context.Canceled", err)
		}
		if _, err := k.Unwrap(ctx, ct, aad); !errors.Is(err, context.Canceled) {
			t.Errorf("Unwrap = %v, want context.Canceled", err)
		}
	})
}

func TestNeverPrintsKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	k := openKeyFile(t, path)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hexKey := strings.TrimSpace(string(content))
	key, _ := hex.DecodeString(hexKey)

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k), fmt.Sprintf(verb, struct{ K seal.KeyFile }{*k}))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("root key", "key", k, "value", *k)
	}
	out = append(out, buf.String())
	if _, err := k.Unwrap(bg, []byte("cfk\x01junkjunkjunkjunkjunkjunkjunkjunkjunkjunk"), nil); err != nil {
		out = append(out, err.Error())
	}

	want := fmt.Sprintf("seal.KeyFile{path:%q, id:%q}", path, k.ID())
	if got := fmt.Sprint(k); got != want {
		t.Errorf("fmt.Sprint = %s, want %s", got, want)
	}
	for _, o := range out {
		for _, frag := range []string{hexKey[:12], strings.ToUpper(hexKey[:12]), string(key[:6]), strings.Trim(fmt.Sprint(key[:4]), "[]")} {
			if strings.Contains(o, frag) {
				t.Fatalf("output shows key material %q: %s", frag, o)
			}
		}
	}
}

func FuzzUnwrap(f *testing.F) {
	path := filepath.Join(f.TempDir(), "root.key")
	k, err := seal.OpenKeyFile(path)
	if err != nil {
		f.Fatal(err)
	}
	ct, err := k.Wrap(bg, []byte("0123456789abcdef0123456789abcdef"), []byte("aad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct, []byte("aad"))
	f.Add(ct[:30], []byte(nil))
	f.Add([]byte("cfk\x02"), []byte(nil))
	f.Fuzz(func(t *testing.T, ct, aad []byte) {
		pt, err := k.Unwrap(bg, ct, aad)
		if err != nil && (pt != nil || !errors.Is(err, envelope.ErrOpen) && !errors.Is(err, envelope.ErrFormat)) {
			t.Fatalf("Unwrap = %q, %v", pt, err)
		}
	})
}
