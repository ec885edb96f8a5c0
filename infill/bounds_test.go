package infill_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// bigGo returns a Go file of at least n bytes with a cursor on an empty
// line inside a function in its middle.
func bigGo(n int) (text string, offset int) {
	var sb strings.Builder
	sb.WriteString("package p\n\nimport \"fmt\"\n\n")
	for i := 0; sb.Len() < n/2; i++ {
		fmt.Fprintf(&sb, "// F%d prints.\nfunc F%d(x int) int {\n\ty := x * %d\n\tfmt.Println(y)\n\treturn y\n}\n\n", i, i, i)
	}
	sb.WriteString("func G(xs []int) int {\n\ttotal := 0\n\t")
	offset = sb.Len()
	sb.WriteString("\n\treturn total\n}\n\n")
	for i := 0; sb.Len() < n; i++ {
		fmt.Fprintf(&sb, "func H%d() {}\n", i)
	}
	return sb.String(), offset
}

// TestCompleteLargeDocumentUsesAWindow: in a document over the parse
// window, completions are computed on a window around the cursor and
// their offsets point into the whole document.
func TestCompleteLargeDocumentUsesAWindow(t *testing.T) {
	const middle = "for _, x := range xs {\n\t\ttotal += x\n\t}"
	for _, size := range []int{64 << 10, 4 << 20} {
		text, off := bigGo(size)
		rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
			return infilltest.Fill{Text: middle, Conf: 0.9}
		}}
		e := infill.New(rt, infill.Options{MinConfidence: -1})
		start := time.Now()
		res, err := e.Complete(context.Background(), infill.Request{Path: "g.go", Text: text, Offset: off, Candidates: 1})
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if len(res.Candidates) == 0 {
			t.Fatalf("%d bytes: no candidate (dropped %+v)", size, res.Dropped)
		}
		c := res.Candidates[0]
		if c.Start != off || c.End < off || !strings.HasPrefix(c.Text, "for _, x") {
			t.Fatalf("%d bytes: candidate %+v, want it at offset %d", size, c, off)
		}
		if !c.Parses {
			t.Errorf("%d bytes: the candidate does not parse in its window", size)
		}
		t.Logf("%d bytes: %v", size, took)
	}
}

// TestFillHolesLargeDocument: a range in a large document is filled on a
// window; the whole of a large document is refused with a clear error.
func TestFillHolesLargeDocument(t *testing.T) {
	text, off := bigGo(1 << 20)
	text = text[:off] + "/* fill */" + text[off:]
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: "total = 1", Conf: 0.9}
	}}
	e := infill.New(rt, infill.Options{})
	edits, err := e.FillHoles(context.Background(), infill.HolesRequest{Path: "g.go", Text: text, Start: off - 20, End: off + 30})
	if err != nil || len(edits) != 1 {
		t.Fatalf("range: %+v, %v", edits, err)
	}
	if edits[0].Start != off || text[edits[0].Start:edits[0].End] != "/* fill */" {
		t.Fatalf("edit %+v does not replace the marker at %d", edits[0], off)
	}
	if _, err := e.FillHoles(context.Background(), infill.HolesRequest{Path: "g.go", Text: text}); err == nil || !strings.Contains(err.Error(), "smaller range") {
		t.Fatalf("whole large document: %v, want a refusal", err)
	}
}
