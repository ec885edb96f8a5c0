package infill_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

const goDoc = "package p\n\nfunc f(xs []int) int {\n\ttotal := 0\n\t┃\n\treturn total\n}\n"

func cursorDoc(s string) (string, int) {
	i := strings.Index(s, "┃")
	return s[:i] + s[i+len("┃"):], i
}

func TestBrokenCandidatesRankBelowParsingOnes(t *testing.T) {
	text, off := cursorDoc(goDoc)
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		// The most confident middle breaks the parse.
		switch row {
		case 0:
			return infilltest.Fill{Text: "for _, x := range xs {", Conf: 0.95}
		case 1:
			return infilltest.Fill{Text: "total = len(xs)", Conf: 0.40}
		}
		return infilltest.Fill{Text: "total += 1 +", Conf: 0.9}
	}}
	e := infill.New(rt, infill.Options{SingleLineLengths: []int{8}, MultiLineLengths: []int{40, 24, 16}})
	res, err := e.Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: off, Candidates: 3, MinConfidence: -1})
	if err != nil {
		t.Fatal(err)
	}
	// The suggestion policy shows the parsing one and holds the broken
	// ones back, ranked below it.
	if len(res.Candidates) != 1 || len(res.Dropped) != 2 {
		t.Fatalf("got %d shown and %d dropped, want 1 and 2: %+v", len(res.Candidates), len(res.Dropped), res)
	}
	top := res.Candidates[0]
	if top.Text != "total = len(xs)" || !top.Parses {
		t.Errorf("top candidate = %+v, want the parsing one", top)
	}
	for _, c := range res.Dropped {
		if c.Parses || c.Reason != infill.DropParse {
			t.Errorf("candidate %q parses (%v) or was dropped for %q; the fixture meant it to break", c.Text, c.Parses, c.Reason)
		}
		if c.Score >= top.Score {
			t.Errorf("broken %q scores %.3f >= parsing %.3f", c.Text, c.Score, top.Score)
		}
	}
	if len(rt.Calls) != 1 || len(rt.Calls[0].Canvases) != 3 {
		t.Errorf("want one batch of three canvases, got %d calls", len(rt.Calls))
	}
}

func TestSuffixDuplicationAndBracketsRemoved(t *testing.T) {
	text, off := cursorDoc("package p\n\nimport \"fmt\"\n\nfunc f(x int) {\n\tfmt.Println(x + ┃)\n}\n")
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: "1)\n}", Conf: 0.8}
	}}
	e := infill.New(rt, infill.Options{SingleLineLengths: []int{8}})
	res, err := e.Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: off})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Candidates[0]; got.Text != "1" || !got.Parses {
		t.Errorf("candidate = %+v, want %q that parses", got, "1")
	}

	// A multi-line middle that runs on into the suffix's lines.
	text, off = cursorDoc(goDoc)
	rt.Script = func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: "for _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}\n", Conf: 0.8}
	}
	res, err = infill.New(rt, infill.Options{MultiLineLengths: []int{64}}).Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: off})
	if err != nil {
		t.Fatal(err)
	}
	want := "for _, x := range xs {\n\t\ttotal += x\n\t}"
	if got := res.Candidates[0]; got.Text != want || !got.Parses {
		t.Errorf("candidate = %q (parses %v), want %q", got.Text, got.Parses, want)
	}
}

func TestLengthStrategies(t *testing.T) {
	text, off := cursorDoc(goDoc)
	var seen []int
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		seen = append(seen, masks)
		return infilltest.Fill{Text: "total = 1", Conf: 0.5}
	}}
	// auto: the non-blank lines around have 10, 22, 9 (above) and 12, 1
	// (below) bytes: median 10, L = 11; a multi-line span tries L, 3L and
	// 6L capped at 64.
	e := infill.New(rt, infill.Options{})
	for _, c := range []struct {
		length string
		want   []int
	}{{"fixed=7", []int{7}}, {"oracle=3", []int{3}}, {"auto", []int{11, 33, 64}}} {
		seen = nil
		if _, err := e.Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: off, Length: c.length}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(c.want) {
			t.Fatalf("%s: masks %v, want %v", c.length, seen, c.want)
		}
		for i := range seen {
			if seen[i] != c.want[i] {
				t.Errorf("%s: masks %v, want %v", c.length, seen, c.want)
			}
		}
	}
	if _, err := e.Complete(context.Background(), infill.Request{Text: text, Offset: off, Length: "bogus"}); err == nil {
		t.Error("a bogus length strategy was accepted")
	}
	if _, err := e.Complete(context.Background(), infill.Request{Text: text, Offset: len(text) + 1}); err == nil {
		t.Error("an offset past the end was accepted")
	}
}

func TestAdaptiveSingleLineLengths(t *testing.T) {
	// Neighbouring lines of 9, 11, 11, 11 bytes (one fake token a byte):
	// median 11, L = 12 with the newline; the cursor line already holds
	// "x =" (3 tokens): L = 9, lengths 4, 9, 18.
	text, off := cursorDoc("def f(x):\n    aaaa = 1234\n    bbbb = 5678\n    x = ┃\n    cccc = 9012\n")
	var seen []int
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		seen = append(seen, masks)
		return infilltest.Fill{Text: "1", Conf: 0.5}
	}}
	if _, err := infill.New(rt, infill.Options{}).Complete(context.Background(), infill.Request{Path: "f.py", Text: text, Offset: off}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || seen[0] != 4 || seen[1] != 9 || seen[2] != 18 {
		t.Errorf("masks = %v, want [4 9 18]", seen)
	}
}

func TestTrailingEOSTrimmedAndExpand(t *testing.T) {
	text, off := cursorDoc("def f(x):\n    return ┃\n")
	passes := 0
	rt := &infilltest.Runtime{HasExpand: true, Script: func(row, hole, masks int, before string) infilltest.Fill {
		passes++
		if masks < 10 {
			return infilltest.Fill{Text: "\x00expand", Conf: 0.3}
		}
		return infilltest.Fill{Text: "x * 2", Conf: 0.7}
	}}
	res, err := infill.New(rt, infill.Options{SingleLineLengths: []int{6}}).Complete(context.Background(), infill.Request{Path: "f.py", Text: text, Offset: off})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Candidates[0].Text; got != "x * 2" {
		t.Errorf("text = %q, want %q", got, "x * 2")
	}
	if passes != 2 || len(rt.Calls[1].Canvases[0]) != len(rt.Calls[0].Canvases[0])+6 {
		t.Errorf("expand: %d passes; want the 6 masks doubled to 12 in the second pass", passes)
	}
}

func TestTypedAheadReuse(t *testing.T) {
	text, off := cursorDoc("def f(x):\n    return ┃\n")
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: "x * 2", Conf: 0.7}
	}}
	e := infill.New(rt, infill.Options{SingleLineLengths: []int{8}})
	if _, err := e.Complete(context.Background(), infill.Request{Path: "f.py", Text: text, Offset: off}); err != nil {
		t.Fatal(err)
	}
	typed := text[:off] + "x " + text[off:]
	res, err := e.Complete(context.Background(), infill.Request{Path: "f.py", Text: typed, Offset: off + 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Calls) != 1 {
		t.Errorf("typed-ahead ran the model again (%d calls)", len(rt.Calls))
	}
	if c := res.Candidates[0]; c.Text != "* 2" || c.Start != off+2 {
		t.Errorf("reused candidate = %+v, want %q at %d", c, "* 2", off+2)
	}
	// The same request again is answered from the cache.
	if _, err := e.Complete(context.Background(), infill.Request{Path: "f.py", Text: typed, Offset: off + 2}); err != nil || len(rt.Calls) != 1 {
		t.Errorf("an identical request ran the model (%d calls, %v)", len(rt.Calls), err)
	}
	// Typing something else runs the model.
	other := text[:off] + "y" + text[off:]
	if _, err := e.Complete(context.Background(), infill.Request{Path: "f.py", Text: other, Offset: off + 1}); err != nil {
		t.Fatal(err)
	}
	if len(rt.Calls) != 2 {
		t.Errorf("a diverging edit reused the old result")
	}
}

func TestFillHolesJointly(t *testing.T) {
	text := "package p\n\nfunc f(a, b int) int {\n\tm := max(a, /* fill */)\n\t// fill\n\treturn m\n}\n"
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		if hole == 0 {
			return infilltest.Fill{Text: "b)", Conf: 0.9}
		}
		return infilltest.Fill{Text: "m *= 2", Conf: 0.9}
	}}
	edits, err := infill.New(rt, infill.Options{}).FillHoles(context.Background(), infill.HolesRequest{Path: "f.go", Text: text, Start: 0, End: len(text)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Calls) != 1 || len(rt.Calls[0].Canvases) != 1 {
		t.Fatalf("holes were not filled in one canvas: %d calls", len(rt.Calls))
	}
	if len(edits) != 2 {
		t.Fatalf("edits = %+v, want 2", edits)
	}
	if text[edits[0].Start:edits[0].End] != "/* fill */" || edits[0].NewText != "b" {
		t.Errorf("edit 0 = %+v", edits[0])
	}
	if text[edits[1].Start:edits[1].End] != "// fill" || edits[1].NewText != "m *= 2" {
		t.Errorf("edit 1 = %+v", edits[1])
	}
}

func TestZeroEngine(t *testing.T) {
	var e *infill.Engine
	if _, err := e.Complete(context.Background(), infill.Request{}); err == nil {
		t.Error("nil engine completed")
	}
}

func TestContextFitsModelPositions(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("package p\n\nimport \"fmt\"\n\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&sb, "func F%d() { fmt.Println(%d) }\n", i, i)
	}
	sb.WriteString("func G() {\n\t")
	off := sb.Len()
	sb.WriteString("\n}\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, "func H%d() {}\n", i)
	}
	text := sb.String()
	rt := &infilltest.Runtime{MaxPos: 512, BOS: 999, Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: "fmt.Println(0)", Conf: 0.5}
	}}
	e := infill.New(rt, infill.Options{})
	res, err := e.Complete(context.Background(), infill.Request{Path: "g.go", Text: text, Offset: off})
	if err != nil {
		t.Fatalf("a long file did not fit the model's 512 positions: %v", err)
	}
	if res.Candidates[0].Text != "fmt.Println(0)" {
		t.Errorf("candidate %q", res.Candidates[0].Text)
	}
	for _, c := range rt.Calls[0].Canvases {
		if len(c) > 512 || c[0] == 999 {
			t.Errorf("canvas of %d tokens (BOS first: %v); the window was trimmed, so no BOS", len(c), c[0] == 999)
		}
	}
	// A short file keeps its start: the canvas begins with BOS.
	short, off2 := cursorDoc(goDoc)
	if _, err := e.Complete(context.Background(), infill.Request{Path: "f.go", Text: short, Offset: off2}); err != nil {
		t.Fatal(err)
	}
	if c := rt.Calls[1].Canvases[0]; c[0] != 999 {
		t.Errorf("short file: canvas starts with %d, want BOS", c[0])
	}
	if _, err := infill.New(rt, infill.Options{}).Complete(context.Background(), infill.Request{Path: "f.go", Text: short, Offset: off2, Length: "fixed=510"}); err == nil {
		t.Error("a middle filling all positions was accepted")
	}
}
