package envelope_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/envelope"
)

const (
	arn1 = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/password-AbCdEf"
	arn2 = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/other-GhIjKl"
	ver1 = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"
	ver2 = "EXAMPLE2-90ab-cdef-fedc-ba987EXAMPLE"
)

func newKEK(t testing.TB, id string) (*envelope.KEK, []byte) {
	t.Helper()
	key, err := envelope.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	kek, err := envelope.NewKEK(id, key)
	if err != nil {
		t.Fatal(err)
	}
	return kek, key
}

func seal(t testing.TB, kek *envelope.KEK, plaintext, ctx []byte) []byte {
	t.Helper()
	ct, err := envelope.Seal(kek, plaintext, ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestRoundTrip(t *testing.T) {
	kek, _ := newKEK(t, "alias/aws/secretsmanager")
	ctx := envelope.Context(arn1, ver1)
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	for _, tc := range []struct {
		name      string
		plaintext []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"one byte", []byte{0}},
		{"json", []byte(`{"username":"app","password":"hunter2"}`)},
		{"64 KiB", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := seal(t, kek, tc.plaintext, ctx)
			if want := len(tc.plaintext) + 93 + len(kek.ID()); len(ct) != want {
				t.Errorf("len(ciphertext) = %d, want %d", len(ct), want)
			}
			if len(tc.plaintext) >= 8 && bytes.Contains(ct, tc.plaintext[:8]) {
				t.Error("ciphertext contains plaintext")
			}
			got, err := envelope.Open(kek, ct, ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !bytes.Equal(got, tc.plaintext) {
				t.Errorf("Open = %.40q, want %.40q", got, tc.plaintext)
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	kek, _ := newKEK(t, "k")
	a := seal(t, kek, []byte("same"), nil)
	b := seal(t, kek, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are identical")
	}
}

func TestWrongContext(t *testing.T) {
	kek, _ := newKEK(t, "alias/aws/secretsmanager")
	ct := seal(t, kek, []byte("s3cr3t"), envelope.Context(arn1, ver1))
	for _, tc := range []struct {
		name string
		ctx  []byte
	}{
		{"other secret", envelope.Context(arn2, ver1)},
		{"other version", envelope.Context(arn1, ver2)},
		{"swapped fields", envelope.Context(ver1, arn1)},
		{"fields shifted", envelope.Context(arn1+ver1[:1], ver1[1:])},
		{"raw concatenation", []byte(arn1 + ver1)},
		{"arn only", envelope.Context(arn1)},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := envelope.Open(kek, ct, tc.ctx); !errors.Is(err, envelope.ErrOpen) {
				t.Fatalf("Open = %v, want ErrOpen", err)
			}
		})
	}
}

func TestContextUnambiguous(t *testing.T) {
	seen := map[string][]string{}
	for _, fields := range [][]string{
		{}, {""}, {"", ""}, {"a"}, {"ab"}, {"a", "b"}, {"ab", ""}, {"", "ab"}, {"a", "", "b"},
	} {
		k := string(envelope.Context(fields...))
		if prev, ok := seen[k]; ok {
			t.Errorf("Context(%q) == Context(%q)", fields, prev)
		}
		seen[k] = fields
	}
}

func TestWrongKEK(t *testing.T) {
	kek, _ := newKEK(t, "key-1")
	ctx := envelope.Context(arn1, ver1)
	ct := seal(t, kek, []byte("s3cr3t"), ctx)

	sameID, _ := newKEK(t, "key-1")
	otherID, _ := newKEK(t, "key-2")
	for _, k := range []*envelope.KEK{sameID, otherID} {
		if _, err := envelope.Open(k, ct, ctx); !errors.Is(err, envelope.ErrOpen) {
			t.Errorf("Open with %v = %v, want ErrOpen", k, err)
		}
	}
	if _, err := envelope.Open(nil, ct, ctx); err == nil {
		t.Error("Open with nil KEK succeeded")
	}
	if _, err := envelope.Seal(nil, []byte("x"), ctx); err == nil {
		t.Error("Seal with nil KEK succeeded")
	}
}

func TestTamper(t *testing.T) {
	kek, _ := newKEK(t, "alias/aws/secretsmanager")
	ctx := envelope.Context(arn1, ver1)
	ct := seal(t, kek, []byte("s3cr3t value"), ctx)
	for i := range ct {
		for bit := range 8 {
			c := bytes.Clone(ct)
			c[i] ^= 1 << bit
			pt, err := envelope.Open(kek, c, ctx)
			if !errors.Is(err, envelope.ErrOpen) && !errors.Is(err, envelope.ErrFormat) {
				t.Fatalf("byte %d bit %d: Open = %q, %v; want ErrOpen or ErrFormat", i, bit, pt, err)
			}
		}
	}
}

func TestTruncated(t *testing.T) {
	kek, _ := newKEK(t, "k")
	ctx := envelope.Context(arn1, ver1)
	for _, pt := range [][]byte{nil, []byte("s3cr3t")} {
		ct := seal(t, kek, pt, ctx)
		for n := range len(ct) {
			_, err := envelope.Open(kek, ct[:n], ctx)
			if !errors.Is(err, envelope.ErrOpen) && !errors.Is(err, envelope.ErrFormat) {
				t.Fatalf("len %d of %d: Open = %v, want ErrOpen or ErrFormat", n, len(ct), err)
			}
		}
		// Extending is as bad as truncating.
		if _, err := envelope.Open(kek, append(bytes.Clone(ct), 0), ctx); !errors.Is(err, envelope.ErrOpen) {
			t.Errorf("Open(ciphertext+1 byte) = %v, want ErrOpen", err)
		}
	}
}

func TestFormatErrors(t *testing.T) {
	kek, _ := newKEK(t, "k")
	ct := seal(t, kek, []byte("x"), nil)
	future := bytes.Clone(ct)
	future[3] = 2
	noID := bytes.Clone(ct)
	noID[4] = 0
	for _, tc := range []struct {
		name string
		ct   []byte
		msg  string
	}{
		{"nil", nil, "not an envelope"},
		{"text", []byte("hunter2"), "not an envelope"},
		{"future version", future, "unknown format version 2"},
		{"empty id", noID, "empty KEK id"},
		{"header only", ct[:len(ct)-17], "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envelope.Open(kek, tc.ct, nil)
			if !errors.Is(err, envelope.ErrFormat) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Open = %v, want ErrFormat containing %q", err, tc.msg)
			}
			if _, err := envelope.KEKID(tc.ct); !errors.Is(err, envelope.ErrFormat) {
				t.Errorf("KEKID = %v, want ErrFormat", err)
			}
		})
	}
}

func TestKEKID(t *testing.T) {
	for _, id := range []string{"k", "alias/aws/secretsmanager", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", strings.Repeat("x", 255)} {
		kek, _ := newKEK(t, id)
		if kek.ID() != id {
			t.Errorf("ID() = %q, want %q", kek.ID(), id)
		}
		got, err := envelope.KEKID(seal(t, kek, []byte("v"), nil))
		if err != nil || got != id {
			t.Errorf("KEKID = %q, %v; want %q", got, err, id)
		}
	}
}

func TestNewKEKErrors(t *testing.T) {
	key, _ := envelope.NewKey()
	for _, tc := range []struct {
		name string
		id   string
		key  []byte
	}{
		{"empty id", "", key},
		{"long id", strings.Repeat("x", 256), key},
		{"short key", "k", key[:16]},
		{"nil key", "k", nil},
		{"long key", "k", append(bytes.Clone(key), 0)},
	} {
		if _, err := envelope.NewKEK(tc.id, tc.key); err == nil {
			t.Errorf("%s: NewKEK succeeded", tc.name)
		}
	}
}

func TestNewKey(t *testing.T) {
	a, err := envelope.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := envelope.NewKey()
	if len(a) != envelope.KeySize || bytes.Equal(a, b) {
		t.Fatalf("NewKey: len %d, distinct %v", len(a), !bytes.Equal(a, b))
	}
}

// TestKEKNeverPrintsKey checks every way a KEK reaches text: fmt verbs on the
// pointer and the value, inside a struct, and slog handlers.
func TestKEKNeverPrintsKey(t *testing.T) {
	kek, key := newKEK(t, "alias/aws/secretsmanager")
	const want = `envelope.KEK{id:"alias/aws/secretsmanager"}`
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%b", "%o"} {
		out = append(out,
			fmt.Sprintf(verb, kek),
			fmt.Sprintf(verb, *kek),
			fmt.Sprintf(verb, struct{ K *envelope.KEK }{kek}),
			fmt.Sprintf(verb, struct{ K envelope.KEK }{*kek}))
	}
	if got := fmt.Sprint(kek); got != want {
		t.Errorf("fmt.Sprint(kek) = %s, want %s", got, want)
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("kek", "kek", kek, "value", *kek, slog.Any("any", kek))
	}
	out = append(out, buf.String())
	if !strings.Contains(buf.String(), "alias/aws/secretsmanager") {
		t.Errorf("slog output lacks the id: %s", buf.String())
	}
	checkNoKey(t, key, out)
}

func checkNoKey(t *testing.T, key []byte, outputs []string) {
	t.Helper()
	// Fragments of the key in the encodings fmt might use: raw, hex, decimal
	// byte lists.
	frags := []string{string(key[:6]), hex.EncodeToString(key[:6]), strings.ToUpper(hex.EncodeToString(key[:6])),
		strings.Trim(fmt.Sprint(key[:4]), "[]"), strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%#v", key[:4]), "[]byte{"), "}")}
	for _, o := range outputs {
		for _, f := range frags {
			if strings.Contains(o, f) {
				t.Fatalf("output shows key material %q: %s", f, o)
			}
		}
	}
}

func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, envelope.KeySize)
	kek, err := envelope.NewKEK("fuzz", key)
	if err != nil {
		f.Fatal(err)
	}
	ctx := envelope.Context(arn1, ver1)
	for _, pt := range []string{"", "x", `{"password":"hunter2"}`} {
		ct, err := envelope.Seal(kek, []byte(pt), ctx)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct, ctx)
		f.Add(ct[:len(ct)/2], ctx)
		f.Add(ct, []byte(nil))
	}
	f.Add([]byte("cfe\x01\xff"), []byte(nil))
	f.Add([]byte{}, []byte(nil))
	f.Fuzz(func(t *testing.T, ct, ctx []byte) {
		pt, err := envelope.Open(kek, ct, ctx)
		if err != nil {
			if !errors.Is(err, envelope.ErrOpen) && !errors.Is(err, envelope.ErrFormat) {
				t.Fatalf("Open = %v, want ErrOpen or ErrFormat", err)
			}
			if pt != nil {
				t.Fatal("Open returned plaintext with an error")
			}
		}
		id, idErr := envelope.KEKID(ct)
		if errors.Is(err, envelope.ErrFormat) != (idErr != nil) {
			t.Fatalf("Open error %v disagrees with KEKID error %v", err, idErr)
		}
		if err == nil && id != kek.ID() {
			t.Fatalf("opened a ciphertext of KEK %q", id)
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	kek, _ := newKEK(b, "alias/aws/secretsmanager")
	ctx := envelope.Context(arn1, ver1)
	value := bytes.Repeat([]byte("p"), 100)
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		ct, err := envelope.Seal(kek, value, ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := envelope.Open(kek, ct, ctx); err != nil {
			b.Fatal(err)
		}
	}
}
