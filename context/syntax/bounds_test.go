package syntax

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/context/lang"
)

func TestBounds(t *testing.T) {
	lines := strings.Repeat("abcdefghi\n", 100) // 1000 bytes, lines of 10
	long := strings.Repeat("é", 500)            // 1000 bytes, no line end
	tests := []struct {
		name              string
		text              string
		start, end, limit int
		wantLo, wantHi    int
	}{
		{"small text: whole", lines, 500, 500, 2000, 0, 1000},
		{"range over the limit: whole", lines, 100, 900, 400, 0, 1000},
		{"middle: line boundaries", lines, 505, 505, 200, 410, 600},
		{"at the start", lines, 5, 5, 200, 0, 200},
		{"at the end", lines, 995, 995, 200, 800, 1000},
		{"one long line: character boundaries", long, 500, 500, 201, 400, 600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := Bounds(tc.text, tc.start, tc.end, tc.limit)
			if lo != tc.wantLo || hi != tc.wantHi {
				t.Fatalf("Bounds = [%d, %d), want [%d, %d)", lo, hi, tc.wantLo, tc.wantHi)
			}
			if lo > tc.start || hi < tc.end || hi-lo > max(tc.limit, len(tc.text)*boolInt(lo == 0 && hi == len(tc.text))) {
				t.Fatalf("[%d, %d) does not hold [%d, %d) within %d bytes", lo, hi, tc.start, tc.end, tc.limit)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPathologicalInput: a deeply nested or very wide tree is handled in
// bounded time: error counting and node lookup walk with a cursor, queries
// refuse input nested past MaxQueryDepth, and a parse ends at the deadline.
func TestPathologicalInput(t *testing.T) {
	js, ok := lang.ByID("javascript")
	if !ok {
		t.Fatal("no javascript grammar")
	}
	src := []byte("x = " + strings.Repeat("[", 100000) + "\n")
	start := time.Now()
	tree, err := Parse(context.Background(), js, src)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	if n := tree.ErrorCount(); n == 0 {
		t.Fatal("unclosed brackets parsed without errors")
	}
	if n := tree.NodeAt(50000, 50000); n == nil {
		t.Fatal("no node at the middle")
	}
	if _, err := tree.Captures(lang.QueryImports); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Captures on 100,000 nested brackets: %v, want ErrTooDeep", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("parse, count, lookup took %v", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	huge := []byte(strings.Repeat("function f() { return [1, 2, 3]; }\n", 200000))
	if _, err := Parse(ctx, js, huge); err == nil {
		t.Fatal("a 7 MB parse finished within 1 ms")
	}
}
