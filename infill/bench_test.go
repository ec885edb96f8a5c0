package infill_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// BenchmarkCompleteOverhead measures everything but the model (parse, span,
// windows, post-processing, re-parse of three candidates) on a Go file of
// about 2,000 lines, with a fake runtime that answers instantly.
func BenchmarkCompleteOverhead(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("package p\n\nimport \"fmt\"\n\n")
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&sb, "// F%d prints.\nfunc F%d(x int) int {\n\ty := x * %d\n\tfmt.Println(y)\n\treturn y\n}\n\n", i, i, i)
	}
	sb.WriteString("func G(xs []int) int {\n\ttotal := 0\n\t")
	off := sb.Len()
	sb.WriteString("\n\treturn total\n}\n")
	text := sb.String()
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: "for _, x := range xs {\n\t\ttotal += x\n\t}", Conf: 0.5}
	}}
	e := infill.New(rt, infill.Options{})
	b.ReportMetric(float64(strings.Count(text, "\n")), "lines")
	for b.Loop() {
		if _, err := e.Complete(context.Background(), infill.Request{Path: "g.go", Text: text, Offset: off, Candidates: 3}); err != nil {
			b.Fatal(err)
		}
	}
}
