package window

import (
	"context"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/context/lang"
	"github.com/dream-lsp/dream-lsp/context/syntax"
)

// FuzzSpanAndWindow: any document and offset give a span inside the
// document and a window whose parts are slices of it.
func FuzzSpanAndWindow(f *testing.F) {
	f.Add("package p\n\nfunc f() {\n\t\n}\n", 22, 0, 40)
	f.Add("def f(x):\n    return (x + )\n", 24, 1, 10)
	f.Add("...\n// fill\n/* fill */ x(...)", 3, 2, 5)
	f.Add("\xff\xfe{(\"", 2, 3, 1)
	langs := lang.All()
	f.Fuzz(func(t *testing.T, text string, off, li, budget int) {
		if li < 0 {
			li = -li
		}
		l := langs[li%len(langs)]
		tree, err := syntax.Parse(context.Background(), l, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		defer tree.Close()
		sp := DetectSpan(tree, text, off)
		if sp.Start < 0 || sp.End > len(text) || sp.Start > sp.End {
			t.Fatalf("span %d..%d outside %d bytes", sp.Start, sp.End, len(text))
		}
		w := Build(tree, text, sp, budget%200, func(s string) int { return (len(s) + 3) / 4 })
		if w.Prefix != text[w.PrefixStart:sp.Start] || w.Suffix != text[sp.End:w.SuffixEnd] {
			t.Fatalf("window parts are not slices of the document")
		}
		for _, h := range Holes(tree, text, 0, len(text)) {
			if h.Start < 0 || h.End > len(text) || !strings.Contains(text[h.Start:h.End], strings.TrimSpace(text[h.Start:h.End])) {
				t.Fatalf("bad hole %+v", h)
			}
		}
	})
}
