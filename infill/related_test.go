package infill_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// TestRelatedChunksBeforeThePrefix: chunks from other documents go before
// the prefix under a path comment in the document's language, the most
// similar next to the prefix, only in what the local window leaves of the
// context budget (one fake token a byte).
func TestRelatedChunksBeforeThePrefix(t *testing.T) {
	text, off := cursorDoc("package p\n\nfunc load(path string) (Config, error) {\n\tcfg, err := ┃\n\treturn cfg, err\n}\n")
	related := []crossfile.Chunk{
		{Path: "config.go", Text: "func readConfig(path string) (Config, error) {\n\treturn Config{}, nil\n}\n"},
		{Path: "util.go", Text: "func unrelated() {}\n"},
		{Path: "other.go", Text: "var cfg, err = readConfig(\"x\")\n"},
	}
	run := func(budget int, path string, text string, off int) string {
		rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
			return infilltest.Fill{Text: "readConfig(path)", Conf: 0.9}
		}}
		e := infill.New(rt, infill.Options{ContextTokens: budget})
		if _, err := e.Complete(context.Background(), infill.Request{Path: path, Text: text, Offset: off, Length: "fixed=20", Related: related}); err != nil {
			t.Fatal(err)
		}
		// The canvas up to the masks (they decode to nothing).
		c := rt.Calls[0].Canvases[0]
		for i, id := range c {
			if id == infilltest.Mask {
				return rt.Decode(c[:i])
			}
		}
		t.Fatal("no masks in the canvas")
		return ""
	}
	// Room for everything: util.go shares only "func" and goes first (the
	// least similar, farthest from the prefix), config.go last.
	got := run(1000, "f.go", text, off)
	want := "// util.go\nfunc unrelated() {}\n\n" +
		"// other.go\nvar cfg, err = readConfig(\"x\")\n\n" +
		"// config.go\nfunc readConfig(path string) (Config, error) {\n\treturn Config{}, nil\n}\n\n" +
		text[:off]
	if got != want {
		t.Errorf("canvas before the middle:\n%q\nwant\n%q", got, want)
	}
	// The local window takes what it needs first: a budget just above the
	// document leaves room for none of the chunks.
	if got := run(len(text)+10, "f.go", text, off); got != text[:off] {
		t.Errorf("tight budget: %q, want the prefix alone", got)
	}
	// Python gets its own comment marker.
	py, poff := cursorDoc("def load(path):\n    cfg, err = ┃\n")
	if got := run(1000, "f.py", py, poff); !strings.HasPrefix(got, "# ") || !strings.Contains(got, "# config.go\n") {
		t.Errorf("python: %q", got)
	}
}
