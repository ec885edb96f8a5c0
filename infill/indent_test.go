package infill_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// spliceCase is one cursor situation: doc holds the cursor "┃", raw is the
// model's raw middle, want the whole buffer after accepting. In doc, raw
// and want "→" stands for one indentation level of the style under test
// (a tab, two or four spaces), so one hand-written case covers the three
// styles; the expected text never comes from the code under test.
type spliceCase struct {
	name, doc, raw, want string
}

// spliceCases are per language (the extension picks the grammar): after a
// word ("if┃", "return┃"), after whitespace ("if ┃", with and without a
// space the model repeats), after "(", at line start (column 0 and in the
// indentation), on a blank line, mid-line (text after the cursor on its
// line) and multi-line middles, one of them with a first line that
// continues the cursor's line ("{ // comment").
var spliceCases = map[string][]spliceCase{
	"f.go": {
		{"after word if", "package p\n\nfunc f(xs []int) error {\n→var err error\n→if┃\n→→return err\n→}\n→return nil\n}\n",
			" err != nil {",
			"package p\n\nfunc f(xs []int) error {\n→var err error\n→if err != nil {\n→→return err\n→}\n→return nil\n}\n"},
		{"after word return", "package p\n\nfunc f(xs []int) error {\n→return┃\n}\n",
			" nil",
			"package p\n\nfunc f(xs []int) error {\n→return nil\n}\n"},
		{"after word switch", "package p\n\nfunc f(s int) {\n→switch┃\n→case 1:\n→}\n}\n",
			" s {",
			"package p\n\nfunc f(s int) {\n→switch s {\n→case 1:\n→}\n}\n"},
		{"after whitespace", "package p\n\nfunc f(xs []int) error {\n→var err error\n→if ┃\n→→return err\n→}\n→return nil\n}\n",
			"err != nil {",
			"package p\n\nfunc f(xs []int) error {\n→var err error\n→if err != nil {\n→→return err\n→}\n→return nil\n}\n"},
		{"after whitespace, repeated space", "package p\n\nfunc f(xs []int) error {\n→return ┃\n}\n",
			" nil",
			"package p\n\nfunc f(xs []int) error {\n→return nil\n}\n"},
		{"after paren", "package p\n\nfunc f(xs []int) int {\n→return len(┃)\n}\n",
			"xs))",
			"package p\n\nfunc f(xs []int) int {\n→return len(xs)\n}\n"},
		{"line start column 0", "package p\n\nfunc f(xs []int) int {\n→n := 0\n┃→return n\n}\n",
			"→n = len(xs)",
			"package p\n\nfunc f(xs []int) int {\n→n := 0\n→n = len(xs)\n→return n\n}\n"},
		{"line start in indentation", "package p\n\nfunc f(xs []int) int {\n→n := 0\n→┃return n\n}\n",
			"n = len(xs)",
			"package p\n\nfunc f(xs []int) int {\n→n := 0\n→n = len(xs)\n→return n\n}\n"},
		{"blank line", "package p\n\nfunc f(xs []int) int {\n→n := 0\n→┃\n→return n\n}\n",
			"n = len(xs)",
			"package p\n\nfunc f(xs []int) int {\n→n := 0\n→n = len(xs)\n→return n\n}\n"},
		{"mid-line", "package p\n\nfunc f(g func() error) error {\n→if ┃err != nil {\n→→return err\n→}\n→return nil\n}\n",
			"err := g(); ",
			"package p\n\nfunc f(g func() error) error {\n→if err := g(); err != nil {\n→→return err\n→}\n→return nil\n}\n"},
		{"multi-line after opener", "package p\n\nfunc f(xs []int) int {\n→n := 0\n→for _, x := range xs {┃\n→}\n→return n\n}\n",
			"\n→→n += x",
			"package p\n\nfunc f(xs []int) int {\n→n := 0\n→for _, x := range xs {\n→→n += x\n→}\n→return n\n}\n"},
		{"multi-line continuing the cursor's line", "package p\n\nfunc f(xs []int) int {\n→n := 0\n→for _, x := range xs {┃\n→}\n→return n\n}\n",
			" // sum\n→→n += x",
			"package p\n\nfunc f(xs []int) int {\n→n := 0\n→for _, x := range xs { // sum\n→→n += x\n→}\n→return n\n}\n"},
		{"multi-line block on a blank line", "package p\n\nfunc f(xs []int) int {\n→n := 0\n→┃\n→return n\n}\n",
			"for _, x := range xs {\n→→n += x\n→}",
			"package p\n\nfunc f(xs []int) int {\n→n := 0\n→for _, x := range xs {\n→→n += x\n→}\n→return n\n}\n"},
	},
	"f.py": {
		{"after word if", "def f(x):\n→if┃\n→→return 1\n→return 0\n",
			" x > 0:",
			"def f(x):\n→if x > 0:\n→→return 1\n→return 0\n"},
		{"after word return", "def f(x):\n→return┃\n",
			" x * 2",
			"def f(x):\n→return x * 2\n"},
		{"after whitespace", "def f(x):\n→if ┃\n→→return 1\n→return 0\n",
			"x > 0:",
			"def f(x):\n→if x > 0:\n→→return 1\n→return 0\n"},
		{"after whitespace, repeated space", "def f(x):\n→return ┃\n",
			" x * 2",
			"def f(x):\n→return x * 2\n"},
		{"after paren", "def f(xs):\n→return len(┃)\n",
			"xs))",
			"def f(xs):\n→return len(xs)\n"},
		{"line start column 0", "def f(xs):\n→n = 0\n┃→return n\n",
			"→n = len(xs)",
			"def f(xs):\n→n = 0\n→n = len(xs)\n→return n\n"},
		{"line start in indentation", "def f(xs):\n→n = 0\n→┃return n\n",
			"n = len(xs)",
			"def f(xs):\n→n = 0\n→n = len(xs)\n→return n\n"},
		{"blank line", "def f(xs):\n→n = 0\n→┃\n→return n\n",
			"n = len(xs)",
			"def f(xs):\n→n = 0\n→n = len(xs)\n→return n\n"},
		{"mid-line", "def f(xs, x):\n→y = ┃x * 2\n→return y\n",
			"len(xs) + ",
			"def f(xs, x):\n→y = len(xs) + x * 2\n→return y\n"},
		{"multi-line after opener", "def f(xs):\n→n = 0\n→for x in xs:┃\n→return n\n",
			"\n→→n += x",
			"def f(xs):\n→n = 0\n→for x in xs:\n→→n += x\n→return n\n"},
		{"multi-line continuing the cursor's line", "def f(xs):\n→n = 0\n→for x in xs:┃\n→return n\n",
			"  # sum\n→→n += x",
			"def f(xs):\n→n = 0\n→for x in xs:  # sum\n→→n += x\n→return n\n"},
		{"multi-line block on a blank line", "def f(xs):\n→n = 0\n→┃\n→return n\n",
			"for x in xs:\n→→n += x",
			"def f(xs):\n→n = 0\n→for x in xs:\n→→n += x\n→return n\n"},
	},
	"f.c":    cLike("int f(int *xs, int len) {", "int n = 0;", "n = len;", "return n;", "for (int i = 0; i < len; i++) {", "n += xs[i];"),
	"f.cpp":  cLike("int f(const std::vector<int> &xs, int len) {", "int n = 0;", "n = len;", "return n;", "for (int x : xs) {", "n += x;"),
	"F.java": wrap("class F {\n", "}\n", cLike("int f(int[] xs, int len) {", "int n = 0;", "n = len;", "return n;", "for (int x : xs) {", "n += x;")),
	"f.js":   cLike("function f(xs, len) {", "let n = 0;", "n = len;", "return n;", "for (const x of xs) {", "n += x;"),
	"f.ts":   cLike("function f(xs: number[], len: number): number {", "let n = 0;", "n = len;", "return n;", "for (const x of xs) {", "n += x;"),
	"f.tsx":  cLike("function f(xs: number[], len: number): number {", "let n = 0;", "n = len;", "return n;", "for (const x of xs) {", "n += x;"),
	"f.rs":   cLike("fn f(xs: &[i32], len: i32) -> i32 {", "let mut n = 0;", "n = len;", "return n;", "for x in xs {", "n += x;"),
}

// cLike writes the cases for a brace language from its function header,
// a declaration of n, an assignment, the return, a loop header and the
// loop body (each written by hand per language; this only places them).
func cLike(header, decl, assign, ret, loop, body string) []spliceCase {
	fn := func(lines ...string) string {
		return header + "\n" + strings.Join(lines, "\n") + "\n}\n"
	}
	retWord, retVal, _ := strings.Cut(ret, " ") // "return", "n;"
	return []spliceCase{
		{"after word if", fn("→"+decl, "→if┃", "→→"+assign, "→}", "→"+ret),
			" (len > 0) {",
			fn("→"+decl, "→if (len > 0) {", "→→"+assign, "→}", "→"+ret)},
		{"after word return", fn("→"+decl, "→"+retWord+"┃"),
			" " + retVal,
			fn("→"+decl, "→"+ret)},
		{"after whitespace", fn("→"+decl, "→if ┃", "→→"+assign, "→}", "→"+ret),
			"(len > 0) {",
			fn("→"+decl, "→if (len > 0) {", "→→"+assign, "→}", "→"+ret)},
		{"after whitespace, repeated space", fn("→"+decl, "→"+retWord+" ┃"),
			" " + retVal,
			fn("→"+decl, "→"+ret)},
		{"after paren", fn("→"+decl, "→if (┃) {", "→→"+assign, "→}", "→"+ret),
			"len > 0)) {",
			fn("→"+decl, "→if (len > 0) {", "→→"+assign, "→}", "→"+ret)},
		{"line start column 0", fn("→"+decl, "┃→"+ret),
			"→" + assign,
			fn("→"+decl, "→"+assign, "→"+ret)},
		{"line start in indentation", fn("→"+decl, "→┃"+ret),
			assign,
			fn("→"+decl, "→"+assign, "→"+ret)},
		{"blank line", fn("→"+decl, "→┃", "→"+ret),
			assign,
			fn("→"+decl, "→"+assign, "→"+ret)},
		{"mid-line", fn("→"+decl, "→n = ┃len * 2;", "→"+ret),
			"n + ",
			fn("→"+decl, "→n = n + len * 2;", "→"+ret)},
		{"multi-line after opener", fn("→"+decl, "→"+loop+"┃", "→}", "→"+ret),
			"\n→→" + body,
			fn("→"+decl, "→"+loop, "→→"+body, "→}", "→"+ret)},
		{"multi-line continuing the cursor's line", fn("→"+decl, "→"+loop+"┃", "→}", "→"+ret),
			" // sum\n→→" + body,
			fn("→"+decl, "→"+loop+" // sum", "→→"+body, "→}", "→"+ret)},
		{"multi-line block on a blank line", fn("→"+decl, "→┃", "→"+ret),
			loop + "\n→→" + body + "\n→}",
			fn("→"+decl, "→"+loop, "→→"+body, "→}", "→"+ret)},
	}
}

// wrap nests every case of a brace language one level deeper inside
// open ... close (a Java class).
func wrap(open, close string, cases []spliceCase) []spliceCase {
	in := func(s string) string {
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "┃") {
				lines[i] = "┃→" + l[len("┃"):]
			} else {
				lines[i] = "→" + l
			}
		}
		return open + strings.Join(lines, "\n") + "\n" + close
	}
	var out []spliceCase
	for _, c := range cases {
		raw := c.raw
		// Raw middles that start new lines carry their indentation; one
		// level deeper inside the class.
		raw = strings.ReplaceAll(raw, "\n→", "\n→→")
		if c.name == "line start column 0" {
			raw = "→" + raw
		}
		if c.name == "multi-line block on a blank line" {
			raw = strings.ReplaceAll(c.raw, "\n", "\n→")
		}
		out = append(out, spliceCase{c.name, in(c.doc), raw, in(c.want)})
	}
	return out
}

var indentStyles = []struct{ name, unit string }{{"tabs", "\t"}, {"2 spaces", "  "}, {"4 spaces", "    "}}

// TestSpliceExactBuffer runs every case through the real engine (span
// detection on the real grammar, post-processing, the splice of
// Candidate.Text over [Start, End)) and compares the whole buffer.
func TestSpliceExactBuffer(t *testing.T) {
	for path, cases := range spliceCases {
		for _, style := range indentStyles {
			for _, c := range cases {
				t.Run(path+"/"+style.name+"/"+c.name, func(t *testing.T) {
					ind := func(s string) string { return strings.ReplaceAll(s, "→", style.unit) }
					text, off := cursorDoc(ind(c.doc))
					raw, want := ind(c.raw), ind(c.want)
					got := spliceOne(t, path, text, off, raw)
					if got != want {
						t.Errorf("raw middle %q\n got: %q\nwant: %q", raw, got, want)
					}
				})
			}
		}
	}
}

// TestSpliceModelIndentStyle: the model writes its own indentation style
// (spaces in a tab file, tabs in a space file) on the lines it starts; the
// buffer gets the document's. The first line's leading space continues
// the cursor's line and is never taken for indentation.
func TestSpliceModelIndentStyle(t *testing.T) {
	cases := []struct{ name, path, doc, raw, want string }{
		{"spaces in a tab file", "f.go", "package p\n\nfunc f(xs []int) int {\n\tn := 0\n\tfor _, x := range xs {┃\n\t}\n\treturn n\n}\n",
			" // sum\n        n += x\n        if n > 9 {\n            break\n        }",
			"package p\n\nfunc f(xs []int) int {\n\tn := 0\n\tfor _, x := range xs { // sum\n\t\tn += x\n\t\tif n > 9 {\n\t\t\tbreak\n\t\t}\n\t}\n\treturn n\n}\n"},
		{"two-space runs in a tab file", "f.go", "package p\n\nfunc f(xs []int) int {\n\tn := 0\n\tfor _, x := range xs {┃\n\t}\n\treturn n\n}\n",
			" // sum\n    n += x\n    if n > 9 {\n      break\n    }",
			"package p\n\nfunc f(xs []int) int {\n\tn := 0\n\tfor _, x := range xs { // sum\n\t\tn += x\n\t\tif n > 9 {\n\t\t\tbreak\n\t\t}\n\t}\n\treturn n\n}\n"},
		{"tabs in a space file", "f.py", "def f(xs):\n    n = 0\n    for x in xs:┃\n    return n\n",
			"  # sum\n\t\tn += x",
			"def f(xs):\n    n = 0\n    for x in xs:  # sum\n        n += x\n    return n\n"},
		{"tab file, keyword then a tab-indented next line", "f.go", "package p\n\nfunc f(err error) error {\n\tif┃\n\treturn nil\n}\n",
			" err != nil {\n\t\treturn err\n\t}",
			"package p\n\nfunc f(err error) error {\n\tif err != nil {\n\treturn nil\n}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, off := cursorDoc(c.doc)
			if got := spliceOne(t, c.path, text, off, c.raw); got != c.want {
				t.Errorf("raw middle %q\n got: %q\nwant: %q", c.raw, got, c.want)
			}
		})
	}
}

// spliceOne completes at off with a runtime that writes raw and returns
// the buffer after accepting the one candidate, shown or held back by the
// suggestion policy (its checks are tested elsewhere).
func spliceOne(t *testing.T, path, text string, off int, raw string) string {
	t.Helper()
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: raw, Conf: 0.9}
	}}
	e := infill.New(rt, infill.Options{})
	res, err := e.Complete(context.Background(), infill.Request{Path: path, Text: text, Offset: off, Length: "fixed=200"})
	if err != nil {
		t.Fatal(err)
	}
	cands := append([]infill.Candidate(nil), res.Candidates...)
	for _, d := range res.Dropped {
		cands = append(cands, d.Candidate)
	}
	if len(cands) != 1 {
		t.Fatalf("got %d candidates, want 1: %+v", len(cands), res)
	}
	c := cands[0]
	return text[:c.Start] + c.Text + text[c.End:]
}

// TestSpliceTrimsClosersTheLineHas: closers (and a closing quote) the
// model writes that the rest of the cursor's line already has are not
// doubled in the buffer.
func TestSpliceTrimsClosersTheLineHas(t *testing.T) {
	const head = "package p\n\nfunc load() error {\n"
	const tail = "\tif err != nil {\n\t\treturn err\n\t}\n\treturn use(cfg)\n}\n"
	want := head + "\tcfg, err := readConfig(\"config.json\")\n" + tail
	cases := []struct{ name, line, raw string }{
		{"after paren", "\tcfg, err := readConfig(┃)\n", `"config.json"))`},
		{"after paren, one closer", "\tcfg, err := readConfig(┃)\n", `"config.json")`},
		{"inside the quotes", "\tcfg, err := readConfig(\"┃\")\n", `config.json"))`},
		{"inside the quotes, quote repeated", "\tcfg, err := readConfig(\"┃\")\n", `config.json")`},
		{"no auto-closed paren", "\tcfg, err := readConfig(┃\n", `"config.json")`},
		{"after the assignment", "\tcfg, err := ┃\n", `readConfig("config.json")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, off := cursorDoc(head + c.line + tail)
			if got := spliceOne(t, "f.go", text, off, c.raw); got != want {
				t.Errorf("raw middle %q\n got: %q\nwant: %q", c.raw, got, want)
			}
		})
	}
}
