package gguf

import (
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// TestTypeSizesMatchBackend: the parser sizes tensors from typeInfo, the
// backends read rows by WeightFormat.RowBytes; the two tables are written
// separately (the parser also knows types no weight is kept in), so every
// type a weight is read in must give the same bytes per row in both, and
// every block format a backend takes must be reachable from some type.
func TestTypeSizesMatchBackend(t *testing.T) {
	var reached []backend.WeightFormat
	for typ, f := range weightFormats {
		info := typeInfo[typ]
		cols := 2 * 256 * info.block // a whole number of blocks of every format
		want := cols / info.block * info.bytes
		if got, ok := f.RowBytes(cols); !ok || got != want {
			t.Errorf("%s as %s: a row of %d values is %d bytes to the parser, %d (ok %v) to the backend", typ, f, cols, want, got, ok)
		}
		if v, _, ok := f.Block(); ok && v != info.block {
			t.Errorf("%s as %s: blocks of %d values to the parser, %d to the backend", typ, f, info.block, v)
		}
		reached = append(reached, f)
	}
	for _, f := range backend.GGUFOnlyFormats() {
		if !slices.Contains(reached, f) {
			t.Errorf("block format %s has no GGML type that reads into it", f)
		}
	}
}
