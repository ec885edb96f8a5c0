package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAppendLossy checks U+FFFD substitution against Python's
// bytes.decode("utf-8", errors="replace") (expected values produced by
// CPython 3).
func TestAppendLossy(t *testing.T) {
	const r = "\uFFFD"
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"\xe4\xbd", r},
		{"\xff\xff", r + r},
		{"\xf0\x9f\x98", r},
		{"\xed\xa0\x80", r + r + r},
		{"a\xc3", "a" + r},
		{"\xc3(", r + "("},
		{"\xe0\x80\x80", r + r + r},
		{"\xf4\x90\x80\x80", r + r + r + r},
		{"\xf0\x9f\x98\x80\x80", "😀" + r},
		{"\xc0\xaf", r + r},
		{"\xe4\xbd\xe4\xbd\xa0", r + "你"},
		{"\uFFFD", "\uFFFD"},
	}
	for _, tt := range tests {
		if got := string(appendLossy(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendLossy(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzAppendLossy(f *testing.F) {
	f.Add([]byte("\xe4\xbd\xff a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := appendLossy(nil, b)
		if !utf8.Valid(got) {
			t.Fatalf("appendLossy(%q) = %q, not valid UTF-8", b, got)
		}
		if utf8.Valid(b) && string(got) != string(b) {
			t.Fatalf("appendLossy changed valid UTF-8 %q to %q", b, got)
		}
		// Go's own conversion replaces each invalid byte; maximal subparts
		// can only merge those, never add replacements.
		if n, m := strings.Count(string(got), "\uFFFD"), strings.Count(strings.ToValidUTF8(string(b), "\uFFFD"), "\uFFFD"); n < m {
			t.Fatalf("appendLossy(%q): %d replacements, fewer than runs %d", b, n, m)
		}
	})
}
