package infill

import (
	"strings"
	"testing"
)

// TestLastLines checks the backward reader against its definition: the
// last n lines of normLines(s).
func TestLastLines(t *testing.T) {
	want := func(s string, n int) string {
		lines := strings.Split(normLines(s), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		return strings.Join(lines, "\n")
	}
	for _, tc := range []struct {
		s string
		n int
	}{
		{"", 1},
		{"\n", 1},
		{"\n\n  \n", 2},
		{"a", 1},
		{"a\n", 1},
		{"a\nb", 1},
		{"a\nb\n", 2},
		{"  a  \n\n\t b\t\n  \n", 2},
		{"x\n  y\n\n z \n", 1},
		{"x\n  y\n\n z \n", 3},
		{"x\n  y\n\n z \n", 9},
		{"\r\nfoo\r\n", 1},
	} {
		if got, w := lastLines(tc.s, tc.n), want(tc.s, tc.n); got != w {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.s, tc.n, got, w)
		}
	}
	if got := lastLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("lastLines = %q, want %q", got, "b\nc")
	}
}
