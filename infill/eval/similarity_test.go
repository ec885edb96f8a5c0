package eval

import (
	"math"
	"testing"
)

func TestEditSimilarity(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"", "", 1},
		{"abc", "abc", 1},
		{"abc", "", 0},
		{"", "xy", 0},
		{"kitten", "sitting", 1 - 3.0/7},
		{"return err", "return nil", 1 - 3.0/10},
		{"日本語", "日本", 1 - 1.0/3}, // runes, not bytes
	}
	for _, c := range cases {
		if got := EditSimilarity(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("EditSimilarity(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := EditSimilarity(c.b, c.a); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("EditSimilarity(%q, %q) = %v, want %v (symmetric)", c.b, c.a, got, c.want)
		}
	}
}
