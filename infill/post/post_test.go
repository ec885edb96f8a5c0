package post

import (
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/context/window"
)

func TestBalanceBracketsDropsRepeatedCloser(t *testing.T) {
	cases := []struct{ before, mid, suffix, want string }{
		{"\tfmt.Println(", "x + 1)", ")\n}\n", "x + 1"},
		{"\tf(g(", "a, b))", "));\n", "a, b"},
		{"\treturn ", "f(x))", ")\n", "f(x)"},
		{"\treturn ", "f(x)", ")\n", "f(x)"},
		{"\tx = f(", `")" + s`, ")\n", `")" + s`}, // a closer inside a string is not a bracket
		{"\tx := T{", "x}", "}", "x"},
		{"", "\t}\n", "\n}\n", "\t}\n"}, // a closer on a later line is not supplied
		{"\tf(", "x)", "\n", "x)"},      // the suffix does not supply it: the middle closes the line's "("
		{"\tx := ", "y)", "\n", "y)"},   // nor here: left for validation (it may close an earlier line's "(")
		// The middle closes the "(" the line opened before the cursor and
		// the suffix closes it too.
		{"\tcfg, err := readConfig(", `"config.json"))`, ")\n", `"config.json"`},
		{"\tcfg, err := readConfig(", `"config.json")`, ")\n", `"config.json"`},
		{"\tcfg, err := readConfig(", `"config.json")`, "\n", `"config.json")`}, // no auto-closed ")": keep
		{"\tcfg, err := readConfig(", `path.Join(dir, "config.json"))`, ")\n", `path.Join(dir, "config.json")`},
		// The middle closes the string the line opened before the cursor.
		{"\tcfg, err := readConfig(\"", `config.json"))`, "\")\n", "config.json"},
		{"\tcfg, err := readConfig(\"", `config.json")`, "\")\n", "config.json"},
		{"\tprint(\"", `it's ok")`, "\")\n", "it's ok"},
		{"\tprint(", `it's(x))`, ")\n", "it's(x)"}, // an apostrophe after a word opens no string
		{"\tx := []int{", "1, 2}", "}\n", "1, 2"},
		{"\tv := a[", "i]]", "]\n", "i"},
		{"\tf(a, ", "g(b), c) + 1", ")\n", "g(b), c"},
		{"\t// it's f(", "x)", ")\n", "x"},
	}
	for _, c := range cases {
		if got := BalanceBrackets(c.mid, c.before, c.suffix); got != c.want {
			t.Errorf("BalanceBrackets(%q, %q, %q) = %q, want %q", c.mid, c.before, c.suffix, got, c.want)
		}
	}
}

func TestTrimSuffixRepeat(t *testing.T) {
	cases := []struct{ mid, suffix, want string }{
		{"total += x\n\treturn total", "\n\treturn total\n}\n", "total += x\n"},
		{"sum(xs) + 1; }", " + 1; }\n", "sum(xs)"},
		{"a + b", ")\n", "a + b"},
		{"    if n == 1: return 1\n", "    return 18 * n\n", "    if n == 1: return 1\n"}, // not a token-boundary overlap
		{"return total", "\n\treturn total\n}", "return total"},                           // first line is the middle itself
	}
	for _, c := range cases {
		if got := TrimSuffixRepeat(c.mid, c.suffix); got != c.want {
			t.Errorf("TrimSuffixRepeat(%q, %q) = %q, want %q", c.mid, c.suffix, got, c.want)
		}
	}
}

func TestStopAtScopeEnd(t *testing.T) {
	sp := window.Span{Kind: window.EmptyLine, Before: "\t", Indent: "\t", ScopeIndent: "\t", IndentUnit: "\t", Multiline: true}
	mid := "x := 1\n\tif x > 0 {\n\t\tx++\n\t}\n}\n\nfunc other() {}\n"
	want := "x := 1\n\tif x > 0 {\n\t\tx++\n\t}\n"
	if got := StopAtScopeEnd(mid, sp, "\treturn x\n}\n"); got != want {
		t.Errorf("StopAtScopeEnd = %q, want %q", got, want)
	}
	py := window.Span{Kind: window.EmptyLine, Before: "    ", Indent: "    ", ScopeIndent: "    ", IndentUnit: "    ", Multiline: true}
	if got := StopAtScopeEnd("y = 2\n    return y\n\ndef g():\n    pass\n", py, "\n"); got != "y = 2\n    return y\n\n" {
		t.Errorf("python: got %q", got)
	}
}

func TestStopAtScopeEndKeepsBlockCrossingMiddles(t *testing.T) {
	// Line start inside "if n == 1 {": the middle closes that block and
	// opens the loop whose body the suffix holds.
	sp := window.Span{Kind: window.EmptyLine, LineStart: true, Indent: "        ", ScopeIndent: "        ", IndentUnit: "    ", Multiline: true}
	mid := "        return y\n    }\n    for i := 2; i < n; i++ {\n"
	suffix := "        if n%i == 0 {\n            return y\n        }\n    }\n    return x\n}\n"
	if got := StopAtScopeEnd(mid, sp, suffix); got != mid {
		t.Errorf("got %q, want the whole middle", got)
	}
	// The same middle running on into another function is cut.
	ranOn := "        return y\n    }\n}\n\nfunc g() {\n"
	if got := StopAtScopeEnd(ranOn, sp, suffix); got != "        return y\n" {
		t.Errorf("ran-on middle: got %q", got)
	}
}

func TestMatchIndent(t *testing.T) {
	tabs := window.Span{Kind: window.EmptyLine, Indent: "\t", ScopeIndent: "\t", IndentUnit: "\t", Multiline: true}
	if got := MatchIndent("    x := 1\n    if x {\n        y()\n    }", tabs); got != "\tx := 1\n\tif x {\n\t\ty()\n\t}" {
		t.Errorf("spaces to tabs: %q", got)
	}
	sp := window.Span{Kind: window.EmptyLine, Before: "", Indent: "    ", ScopeIndent: "    ", IndentUnit: "    ", Multiline: true, LineStart: true}
	if got := MatchIndent("return x\n", sp); got != "    return x\n" {
		t.Errorf("line start: %q", got)
	}
	if got := MatchIndent("\treturn x", window.Span{Kind: window.EmptyLine, Before: "    ", Indent: "    ", IndentUnit: "    "}); got != "    return x" {
		t.Errorf("tabs to spaces: %q", got)
	}
}

func TestApply(t *testing.T) {
	// Single-line span: the middle stops at the line end and loses the
	// closer that the suffix already has.
	sp := window.Span{Kind: window.MidLine, Before: "\tfmt.Println(x + ", After: ")", Closers: ")", IndentUnit: "\t", Indent: "\t", ScopeIndent: "\t"}
	if got := Apply("1)\n\tfmt.Println(2)\n", sp, ")\n}\n"); got != "1" {
		t.Errorf("Apply = %q, want %q", got, "1")
	}
	ls := window.Span{Kind: window.EmptyLine, Before: "", After: "    return y", Indent: "    ", ScopeIndent: "    ", IndentUnit: "    ", Multiline: true, LineStart: true}
	if got := Apply("    y = x * 2\n    return y\n", ls, "    return y\n"); got != "    y = x * 2\n" {
		t.Errorf("Apply line start = %q", got)
	}
	if got := Apply("  \n\t", sp, ")"); got != "" {
		t.Errorf("blank middle = %q, want empty", got)
	}
}

// TestApplyKeepsSpacingOfContinuedLines: through Apply with spans detected
// on the real text, the first line of a middle that continues the
// cursor's line keeps the blank that separates it from the word before
// the cursor, whatever the document's indentation; a trailing blank stays
// when a word follows the cursor on its line. want is the whole line.
func TestApplyKeepsSpacingOfContinuedLines(t *testing.T) {
	cases := []struct{ name, doc, raw, suffixLine, want string }{
		{"tab file, after if", "func f() {\n\tif┃\n}\n", " err != nil {", "", "\tif err != nil {"},
		{"tab file, after return", "func f() {\n\treturn┃\n}\n", " nil", "", "\treturn nil"},
		{"tab file, after switch", "func f() {\n\tswitch┃\n}\n", " s {", "", "\tswitch s {"},
		{"tab file, after if and a space", "func f() {\n\tif ┃\n}\n", " err != nil {", "", "\tif err != nil {"},
		{"space file, after if", "func f() {\n    if┃\n}\n", " err != nil {", "", "    if err != nil {"},
		{"tab file, two spaces before a comment", "def f():\n\tx = 1┃\n", "  # one", "", "\tx = 1  # one"},
		{"tab file, mid-line", "func f() {\n\tif ┃err != nil {\n}\n", "err := g(); ", "err != nil {", "\tif err := g(); err != nil {"},
		{"mid-line before a closer", "func f() {\n\tg(a, ┃)\n}\n", "b )", ")", "\tg(a, b)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			i := strings.Index(c.doc, "┃")
			text := c.doc[:i] + c.doc[i+len("┃"):]
			sp := window.DetectSpan(nil, text, i)
			got := Apply(c.raw, sp, text[sp.End:])
			line := sp.Before + got + sp.After
			if line != c.want {
				t.Errorf("Apply(%q) = %q: line %q, want %q", c.raw, got, line, c.want)
			}
		})
	}
}
