package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const allPrintable = lowercaseChars + uppercaseChars + digitChars + punctuationChars

// draw calls RandomPassword and fails the test on an error.
func draw(t *testing.T, in PasswordInput) string {
	t.Helper()
	p, err := RandomPassword(in)
	if err != nil {
		t.Fatalf("RandomPassword(%+v): %v", in, err)
	}
	return p
}

func TestPunctuationIsAWSSet(t *testing.T) {
	// The 32 characters of the model's ExcludePunctuation documentation.
	const model = `! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \ ] ^ _ ` + "`" + ` { | } ~`
	if got := strings.ReplaceAll(model, " ", ""); got != punctuationChars {
		t.Fatalf("punctuation set %q, model has %q", punctuationChars, got)
	}
	if len(punctuationChars) != 32 {
		t.Fatalf("%d punctuation characters, want 32", len(punctuationChars))
	}
}

func TestRandomPasswordDefaults(t *testing.T) {
	for range 500 {
		p := draw(t, PasswordInput{})
		if len(p) != DefaultPasswordLength {
			t.Fatalf("length %d, want %d", len(p), DefaultPasswordLength)
		}
		for _, set := range []string{lowercaseChars, uppercaseChars, digitChars, punctuationChars} {
			if !strings.ContainsAny(p, set) {
				t.Fatalf("default password lacks a character of %q", set)
			}
		}
		if strings.Trim(p, allPrintable) != "" {
			t.Fatalf("default password has characters outside AWS's sets")
		}
	}
}

func TestRandomPasswordLengths(t *testing.T) {
	for _, n := range []int64{1, 2, 4, 5, 32, 100, 4096} {
		in := PasswordInput{Length: n}
		if n < 4 {
			in.RequireEachIncludedType = new(false)
		}
		if p := draw(t, in); int64(len(p)) != n {
			t.Errorf("Length %d: got %d characters", n, len(p))
		}
	}
}

// TestRandomPasswordExclusions draws many passwords and checks that an
// excluded character or class never appears and that every included class
// does, in every password, when required.
func TestRandomPasswordExclusions(t *testing.T) {
	cases := []struct {
		name     string
		in       PasswordInput
		never    string   // characters that must never appear
		each     []string // sets each password must touch
		anywhere string   // characters that must appear in some password
	}{
		{
			name:  "rotation template (MySQL)",
			in:    PasswordInput{ExcludeCharacters: `/@"'\`},
			never: `/@"'\`,
			each:  []string{lowercaseChars, uppercaseChars, digitChars, "!#$%&()*+,-.:;<=>?[]^_`{|}~"},
		},
		{
			name:  "rotation template (PostgreSQL)",
			in:    PasswordInput{ExcludeCharacters: `:/@"'\`, Length: 16},
			never: `:/@"'\`,
			each:  []string{lowercaseChars, uppercaseChars, digitChars},
		},
		{
			name:  "no numbers",
			in:    PasswordInput{ExcludeNumbers: true},
			never: digitChars,
			each:  []string{lowercaseChars, uppercaseChars, punctuationChars},
		},
		{
			name:  "no punctuation",
			in:    PasswordInput{ExcludePunctuation: true},
			never: punctuationChars + " ",
			each:  []string{lowercaseChars, uppercaseChars, digitChars},
		},
		{
			name:  "no uppercase",
			in:    PasswordInput{ExcludeUppercase: true},
			never: uppercaseChars,
			each:  []string{lowercaseChars, digitChars, punctuationChars},
		},
		{
			name:  "no lowercase",
			in:    PasswordInput{ExcludeLowercase: true},
			never: lowercaseChars,
			each:  []string{uppercaseChars, digitChars, punctuationChars},
		},
		{
			name:  "digits only",
			in:    PasswordInput{ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true, Length: 6},
			never: lowercaseChars + uppercaseChars + punctuationChars + " ",
			each:  []string{digitChars},
		},
		{
			name:     "space admitted, not required",
			in:       PasswordInput{IncludeSpace: true, Length: 8},
			each:     []string{lowercaseChars, uppercaseChars, digitChars, punctuationChars},
			anywhere: " ",
		},
		{
			name:     "space in a long password",
			in:       PasswordInput{IncludeSpace: true, ExcludePunctuation: true, Length: 64},
			never:    punctuationChars,
			anywhere: " ",
		},
		{
			name:  "space excluded by ExcludeCharacters",
			in:    PasswordInput{IncludeSpace: true, ExcludeCharacters: " "},
			never: " ",
		},
		{
			name:  "not required: an emptied class is just absent",
			in:    PasswordInput{ExcludeCharacters: digitChars, RequireEachIncludedType: new(false)},
			never: digitChars,
		},
		{
			name:  "exclusions across classes",
			in:    PasswordInput{ExcludeCharacters: "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXY012345678", Length: 4},
			never: "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXY012345678",
			each:  []string{"z", "Z", "9", punctuationChars},
		},
		{
			name: "non-ASCII exclusions are ignored",
			in:   PasswordInput{ExcludeCharacters: "é€😀"},
			each: []string{lowercaseChars, uppercaseChars, digitChars, punctuationChars},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen := false
			for range 2000 {
				p := draw(t, tc.in)
				if strings.ContainsAny(p, tc.never) {
					t.Fatalf("password has an excluded character (one of %q)", tc.never)
				}
				if strings.Trim(p, allPrintable+" ") != "" {
					t.Fatalf("password has characters outside AWS's sets")
				}
				if !tc.in.IncludeSpace && strings.Contains(p, " ") {
					t.Fatalf("password has a space without IncludeSpace")
				}
				for _, set := range tc.each {
					if !strings.ContainsAny(p, set) {
						t.Fatalf("password lacks a character of %q", set)
					}
				}
				seen = seen || strings.ContainsAny(p, tc.anywhere)
			}
			if tc.anywhere != "" && !seen {
				t.Errorf("no password of 2000 contained %q", tc.anywhere)
			}
		})
	}
}

func TestRandomPasswordErrors(t *testing.T) {
	cases := []struct {
		name string
		in   PasswordInput
		kind Kind
		msg  string
	}{
		{"shorter than the required types", PasswordInput{Length: 3}, KindInvalidParameter, msgPasswordTooShort},
		{"shorter than three required types", PasswordInput{Length: 2, ExcludePunctuation: true}, KindInvalidParameter, msgPasswordTooShort},
		{"a required class emptied", PasswordInput{ExcludeCharacters: digitChars}, KindInvalidParameter, msgTypeExcluded},
		{"a required class emptied, before the length check", PasswordInput{Length: 1, ExcludeCharacters: lowercaseChars}, KindInvalidParameter, msgTypeExcluded},
		{"every class switched off", PasswordInput{ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true}, KindInvalidParameter, msgAllExcluded},
		{"everything excluded by characters", PasswordInput{ExcludeCharacters: allPrintable, RequireEachIncludedType: new(false)}, KindInvalidParameter, msgAllExcluded},
		{"only a space, excluded", PasswordInput{ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true, IncludeSpace: true, ExcludeCharacters: " "}, KindInvalidParameter, msgAllExcluded},
		{"negative length", PasswordInput{Length: -1}, KindValidation,
			"1 validation error detected: Value '-1' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"length above 4096", PasswordInput{Length: 4097}, KindValidation,
			"1 validation error detected: Value '4097' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096"},
		{"ExcludeCharacters above 4096", PasswordInput{ExcludeCharacters: strings.Repeat("a", 4097)}, KindValidation,
			"1 validation error detected: Value at 'excludeCharacters' failed to satisfy constraint: Member must have length less than or equal to 4096"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := RandomPassword(tc.in)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("got %q, %v; want a *secrets.Error", p, err)
			}
			if de.Kind != tc.kind || de.Message != tc.msg {
				t.Fatalf("got kind %d %q, want kind %d %q", de.Kind, de.Message, tc.kind, tc.msg)
			}
		})
	}
}

func TestRandomPasswordEdgeCombinations(t *testing.T) {
	// Only the space left: a password of spaces (nothing is required).
	p := draw(t, PasswordInput{ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true, IncludeSpace: true, Length: 5})
	if p != "     " {
		t.Errorf("got %q, want five spaces", p)
	}
	// Exactly as long as the required types: one of each, in some order.
	for range 500 {
		p := draw(t, PasswordInput{Length: 4})
		for _, set := range []string{lowercaseChars, uppercaseChars, digitChars, punctuationChars} {
			if n := countAny(p, set); n != 1 {
				t.Fatalf("%d characters of %q in a 4-character password, want 1", n, set)
			}
		}
	}
	// A one-character class left: it is always that character.
	for range 200 {
		p := draw(t, PasswordInput{Length: 4, ExcludeCharacters: "012345678"})
		if countAny(p, digitChars) != 1 || !strings.Contains(p, "9") {
			t.Fatalf("the only digit left must appear exactly once")
		}
	}
}

func countAny(s, set string) int {
	n := 0
	for _, r := range s {
		if strings.ContainsRune(set, r) {
			n++
		}
	}
	return n
}

// TestRandomPasswordUniform is a coarse sanity check of the distribution,
// with bounds far (about 9 standard deviations) from the expected counts so
// that it cannot fail by chance in practice.
func TestRandomPasswordUniform(t *testing.T) {
	t.Run("characters", func(t *testing.T) {
		const per = 2000 // expected count of each character
		counts := map[rune]int{}
		total := 0
		for total < per*len(allPrintable) {
			p := draw(t, PasswordInput{Length: 4096, RequireEachIncludedType: new(false)})
			for _, r := range p {
				counts[r]++
			}
			total += len(p)
		}
		want := float64(total) / float64(len(allPrintable))
		for _, r := range allPrintable {
			if got := float64(counts[r]); got < want-400 || got > want+400 {
				t.Errorf("%q drawn %v times, want about %v", r, got, want)
			}
		}
		if len(counts) != len(allPrintable) {
			t.Errorf("%d distinct characters, want %d", len(counts), len(allPrintable))
		}
	})
	t.Run("required positions", func(t *testing.T) {
		// With one required digit in a password of four and no other digit
		// possible, the digit's position must be uniform.
		const draws = 4000
		var at [4]int
		for range draws {
			p := draw(t, PasswordInput{Length: 4})
			at[strings.IndexAny(p, digitChars)]++
		}
		for i, n := range at {
			if n < draws/4-250 || n > draws/4+250 {
				t.Errorf("digit at position %d in %d of %d passwords, want about %d", i, n, draws, draws/4)
			}
		}
	})
}

func TestRandSourceBounds(t *testing.T) {
	src := newRandSource()
	for _, n := range []int{1, 2, 3, 94, 95, 4096, 65535, 65536} {
		for range 1000 {
			if v := src.intn(n); v < 0 || v >= n {
				t.Fatalf("intn(%d) = %d", n, v)
			}
		}
	}
}

func TestServiceGetRandomPassword(t *testing.T) {
	s := New(Config{})
	p, err := s.GetRandomPassword(context.Background(), SystemCaller("aws", "123456789012", "us-east-1"), PasswordInput{Length: 20})
	if err != nil || len(p) != 20 {
		t.Fatalf("got %d characters, %v", len(p), err)
	}
}
