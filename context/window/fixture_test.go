package window

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/dream-lsp/dream-lsp/context/lang"
	"github.com/dream-lsp/dream-lsp/context/syntax"
)

// Cursor is the cursor marker used in fixtures (and by `dream-lsp infill`).
const cursor = "┃"

// expectation is parsed from a fixture's comment line:
//
//	NAME: kind=K multiline=true indent="\t" closers=")"
type expectation map[string]string

func parseExpectations(t *testing.T, comment string) map[string]expectation {
	out := map[string]expectation{}
	for _, line := range strings.Split(comment, "\n") {
		name, rest, ok := strings.Cut(line, ": ")
		if !ok || strings.ContainsAny(name, " \t") || !strings.Contains(rest, "=") {
			continue
		}
		e := expectation{}
		for rest != "" {
			rest = strings.TrimLeft(rest, " ")
			k, v, ok := strings.Cut(rest, "=")
			if !ok {
				t.Fatalf("bad expectation %q", line)
			}
			if strings.HasPrefix(v, `"`) {
				q, err := strconv.QuotedPrefix(v)
				if err != nil {
					t.Fatalf("bad quoted value in %q: %v", line, err)
				}
				uq, _ := strconv.Unquote(q)
				e[k], rest = uq, v[len(q):]
			} else {
				val, r, _ := strings.Cut(v, " ")
				e[k], rest = val, r
			}
		}
		out[name] = e
	}
	return out
}

func loadFixture(t *testing.T, f txtar.File) (*lang.Language, string, int) {
	t.Helper()
	l, ok := lang.ForPath(f.Name)
	if !ok {
		t.Fatalf("%s: no language for extension", f.Name)
	}
	src := string(f.Data)
	off := strings.Index(src, cursor)
	if off < 0 {
		t.Fatalf("%s: no cursor marker %s", f.Name, cursor)
	}
	return l, src[:off] + src[off+len(cursor):], off
}

func TestSpanFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/context/*/spans.txtar")
	if len(files) < 9 {
		t.Fatalf("found %d span fixture archives, want one per language (9)", len(files))
	}
	seenLang := map[string]map[Kind]bool{}
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		exp := parseExpectations(t, string(ar.Comment))
		for _, f := range ar.Files {
			t.Run(filepath.Base(filepath.Dir(file))+"/"+f.Name, func(t *testing.T) {
				e, ok := exp[f.Name]
				if !ok {
					t.Fatalf("no expectation line for %s", f.Name)
				}
				l, text, off := loadFixture(t, f)
				tree, err := syntax.Parse(context.Background(), l, []byte(text))
				if err != nil {
					t.Fatal(err)
				}
				defer tree.Close()
				sp := DetectSpan(tree, text, off)
				if seenLang[l.ID] == nil {
					seenLang[l.ID] = map[Kind]bool{}
				}
				seenLang[l.ID][sp.Kind] = true
				check := func(key, got string) {
					if want, ok := e[key]; ok && want != got {
						t.Errorf("%s = %q, want %q (span %+v)", key, got, want, sp)
					}
				}
				check("kind", string(sp.Kind))
				check("multiline", strconv.FormatBool(sp.Multiline))
				check("indent", sp.Indent)
				check("closers", sp.Closers)
				check("replaces", text[sp.Start:sp.End])
			})
		}
	}
	for id, kinds := range seenLang {
		for _, k := range []Kind{EndOfLine, MidLine, EmptyLine, EmptyBody, ArgList, Hole} {
			if !kinds[k] {
				t.Errorf("%s: no fixture detected as %s", id, k)
			}
		}
	}
}

// charCounter stands in for a tokenizer: about four bytes per token.
func charCounter(s string) int { return (len(s) + 3) / 4 }

func TestWindowFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/context/*/window.txtar")
	if len(files) < 9 {
		t.Fatalf("found %d window fixture archives, want one per language (9)", len(files))
	}
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		exp := parseExpectations(t, string(ar.Comment))
		for _, f := range ar.Files {
			t.Run(filepath.Base(filepath.Dir(file))+"/"+f.Name, func(t *testing.T) {
				e := exp[f.Name]
				budget, err := strconv.Atoi(e["budget"])
				if err != nil {
					t.Fatalf("budget: %v", err)
				}
				l, text, off := loadFixture(t, f)
				tree, err := syntax.Parse(context.Background(), l, []byte(text))
				if err != nil {
					t.Fatal(err)
				}
				defer tree.Close()
				sp := DetectSpan(tree, text, off)
				w := Build(tree, text, sp, budget, charCounter)
				seen := w.Head + w.Prefix + "<MIDDLE>" + w.Suffix
				if !w.Trimmed {
					t.Fatalf("document fit the budget %d; the fixture must force trimming", budget)
				}
				if got := charCounter(w.Head) + charCounter(w.Prefix) + charCounter(w.Suffix); got > budget+budget/10 {
					t.Errorf("window costs %d tokens, budget %d", got, budget)
				}
				if w.Prefix != text[w.PrefixStart:sp.Start] || w.Suffix != text[sp.End:w.SuffixEnd] {
					t.Errorf("prefix/suffix do not match their offsets")
				}
				for _, k := range strings.Split(e["keep"], "|") {
					if k != "" && !strings.Contains(seen, k) {
						t.Errorf("window lost %q:\n%s", k, seen)
					}
				}
				for _, d := range strings.Split(e["drop"], "|") {
					if d != "" && strings.Contains(seen, d) {
						t.Errorf("window kept %q, which should have been trimmed:\n%s", d, seen)
					}
				}
				// The prefix window starts at a line start.
				if w.PrefixStart > 0 && text[w.PrefixStart-1] != '\n' {
					t.Errorf("prefix cut mid-line at %d", w.PrefixStart)
				}
			})
		}
	}
}

func TestHolesInRange(t *testing.T) {
	l, _ := lang.ByID("go")
	text := "package p\n\nfunc f(a int) int {\n\tx := g(/* fill */)\n\t// fill\n\ts := \"// fill\"\n\treturn x\n}\n\nfunc g(xs ...int) int { return 0 }\n"
	tree, err := syntax.Parse(context.Background(), l, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	hs := Holes(tree, text, 0, len(text))
	var got []string
	for _, h := range hs {
		got = append(got, fmt.Sprintf("%q multiline=%v", text[h.Start:h.End], h.Multiline))
	}
	want := []string{`"/* fill */" multiline=false`, `"// fill" multiline=true`}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("holes = %v, want %v", got, want)
	}
}

func TestDetectSpanNeverPanics(t *testing.T) {
	l, _ := lang.ByID("python")
	texts := []string{"", "\n", "x", "def f(:\n  ...", "((((", "# fill", "...", "\t\n\t\n"}
	for _, text := range texts {
		tree, err := syntax.Parse(context.Background(), l, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		for off := -1; off <= len(text)+1; off++ {
			sp := DetectSpan(tree, text, off)
			if sp.Start < 0 || sp.End > len(text) || sp.Start > sp.End {
				t.Errorf("%q at %d: bad span %+v", text, off, sp)
			}
			Build(tree, text, sp, 3, charCounter)
		}
		DetectSpan(nil, text, len(text))
		tree.Close()
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
