package post

import (
	"testing"

	"github.com/dream-lsp/dream-lsp/context/window"
)

func TestBalanceBracketsDropsRepeatedCloser(t *testing.T) {
	cases := []struct{ mid, suffix, want string }{
		{"x + 1)", ")\n}\n", "x + 1"},
		{"a, b))", "));\n", "a, b"},
		{"f(x))", ")\n", "f(x)"},
		{"f(x)", ")\n", "f(x)"},
		{`")" + s`, ")\n", `")" + s`}, // a closer inside a string is not a bracket
		{"x}", "}", "x"},
		{"\t}\n", "\n}\n", "\t}\n"}, // a closer on a later line is not supplied
		{"x)", "\n", "x)"},          // the suffix does not supply it: leave for validation
	}
	for _, c := range cases {
		if got := BalanceBrackets(c.mid, c.suffix); got != c.want {
			t.Errorf("BalanceBrackets(%q, %q) = %q, want %q", c.mid, c.suffix, got, c.want)
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
