package infill_test

import (
	"context"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// FuzzComplete: any document, cursor and model output give candidates whose
// range lies inside the document, and never a panic.
func FuzzComplete(f *testing.F) {
	f.Add("package p\n\nfunc f() {\n\t\n}\n", 22, "x := 1)\n}\n", "f.go")
	f.Add("def f(x):\n    return (x + )\n", 24, "1))", "f.py")
	f.Add("a /* fill */ b", 5, "\t\t}", "x.c")
	f.Add("", 0, "", "x.rs")
	f.Fuzz(func(t *testing.T, text string, off int, out, path string) {
		rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
			return infilltest.Fill{Text: out, Conf: 0.5}
		}}
		e := infill.New(rt, infill.Options{MaxTokens: 16, ContextTokens: 64})
		res, err := e.Complete(context.Background(), infill.Request{Path: path, Text: text, Offset: off, Candidates: 3})
		if off < 0 || off > len(text) {
			if err == nil {
				t.Fatal("an offset outside the document was accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Candidates {
			if c.Start < 0 || c.End > len(text) || c.Start > c.End {
				t.Fatalf("candidate range %d..%d outside %d bytes", c.Start, c.End, len(text))
			}
		}
		if _, err := e.FillHoles(context.Background(), infill.HolesRequest{Path: path, Text: text}); err != nil {
			t.Fatal(err)
		}
	})
}
