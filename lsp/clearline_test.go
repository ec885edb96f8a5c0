package lsp_test

import (
	"testing"

	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
)

// TestClearedLineIsNotBackspace: clearing a line to retype it (Vim's cc or
// S keep the indentation) is not a backspace, so automatic completions
// still come; deleting part of a line still keeps them quiet.
func TestClearedLineIsNotBackspace(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	if err := c.Open(ctx, goURI, "go", "func f() {\n\treturn g(x)\n}\n"); err != nil {
		t.Fatal(err)
	}
	// Delete "(x)": the line is not blank, so it is a backspace.
	if err := c.Change(ctx, goURI, 2, 1, 9, 1, 12, ""); err != nil {
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 1, 9, 2); err != nil || len(items) != 0 {
		t.Fatalf("after a partial deletion: %+v, %v; want nothing", items, err)
	}
	// cc: everything after the indentation goes.
	if err := c.Change(ctx, goURI, 3, 1, 1, 1, 9, ""); err != nil {
		t.Fatal(err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 1, 1, 2)
	if err != nil || len(items) != 1 {
		t.Fatalf("after clearing the line: %+v, %v; want a suggestion", items, err)
	}
}
