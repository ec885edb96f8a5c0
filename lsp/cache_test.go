package lsp

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dream-lsp/dream-lsp/infill"
)

func TestResultCache(t *testing.T) {
	key := cacheKey{lang: "go", gen: 1}
	text := "func f() {\n\tfmt.Pri)\n}\n"
	cursor := len("func f() {\n\tfmt.Pri")
	c := newResultCache(2)
	c.store(key, text, cursor, 1, []infill.Candidate{
		{Text: "ntln(x))", Start: cursor, End: cursor + 1},
		{Text: "bad", Start: cursor + 5, End: cursor + 6}, // not at the cursor: not kept
	})
	typed := func(s string) string { return text[:cursor] + s + text[cursor:] }
	tests := []struct {
		name   string
		key    cacheKey
		text   string
		offset int
		n      int
		want   []infill.Candidate
	}{
		{"exact", key, text, cursor, 1, []infill.Candidate{{Text: "ntln(x))", Start: cursor, End: cursor + 1}}},
		{"more candidates wanted", key, text, cursor, 3, nil},
		{"other settings", cacheKey{lang: "go", gen: 2}, text, cursor, 1, nil},
		{"typed ahead", key, typed("ntl"), cursor + 3, 1, []infill.Candidate{{Text: "n(x))", Start: cursor + 3, End: cursor + 4}}},
		{"typed the whole suggestion", key, typed("ntln(x))"), cursor + 8, 1, nil},
		{"typed something else", key, typed("nx"), cursor + 2, 1, nil},
		{"suffix changed", key, text[:cursor] + text[cursor+1:], cursor, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.lookup(tt.key, tt.text, tt.offset, tt.n)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lookup (-want +got):\n%s", diff)
			}
		})
	}
	// Capacity 2: two more entries evict the first.
	c.store(key, "a", 1, 1, []infill.Candidate{{Text: "x", Start: 1, End: 1}})
	c.store(key, "b", 1, 1, []infill.Candidate{{Text: "y", Start: 1, End: 1}})
	if got := c.lookup(key, text, cursor, 1); got != nil {
		t.Errorf("evicted entry still found: %+v", got)
	}
	c.clear()
	if got := c.lookup(key, "b", 1, 1); got != nil {
		t.Errorf("after clear: %+v", got)
	}
}
