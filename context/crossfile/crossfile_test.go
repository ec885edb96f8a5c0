package crossfile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func bytesCount(s string) int { return len(s) }

func paths(cs []Chunk) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s:%d", c.Path, c.StartLine))
	}
	return out
}

func TestRingDeduplicatesAndEvicts(t *testing.T) {
	r := New(3, 4)
	r.AddEdit("a.go", "l0\nl1\nl2\nl3\nl4\nl5\nl6\nl7\n", 0) // lines 0-3
	r.AddEdit("b.go", "x := 1\n", 0)
	r.AddEdit("a.go", "l0\nl1\nl2\nl3\nl4\nl5\nl6\nl7\n", 18) // line 6: lines 4-7
	if got, want := paths(r.Chunks("")), []string{"a.go:4", "b.go:0", "a.go:0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks %v, want %v", got, want)
	}
	// An edit overlapping an older chunk of the same document replaces it.
	r.AddEdit("a.go", "l0\nl1\nl2\nl3\nL4\nl5\nl6\nl7\n", 12) // line 4: lines 2-5 overlap both a.go chunks
	if got, want := paths(r.Chunks("")), []string{"a.go:2", "b.go:0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after an overlapping edit: %v, want %v", got, want)
	}
	// The same text from another path replaces the older copy.
	r.AddEdit("c.go", "x := 1\n", 0)
	if got, want := paths(r.Chunks("")), []string{"c.go:0", "a.go:2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after a duplicate text: %v, want %v", got, want)
	}
	// Capacity 3: the oldest goes.
	r.AddEdit("d.go", "d\n", 0)
	r.AddEdit("e.go", "e\n", 0)
	if got, want := paths(r.Chunks("")), []string{"e.go:0", "d.go:0", "c.go:0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after eviction: %v, want %v", got, want)
	}
	// Chunks leaves out the requesting document; Forget drops one.
	if got, want := paths(r.Chunks("d.go")), []string{"e.go:0", "c.go:0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Chunks(d.go) = %v, want %v", got, want)
	}
	r.Forget("e.go")
	if got, want := paths(r.Chunks("")), []string{"d.go:0", "c.go:0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after Forget: %v, want %v", got, want)
	}
	// Blank text adds nothing.
	r.AddEdit("f.go", "\n\n", 0)
	if len(r.Chunks("")) != 2 {
		t.Errorf("a blank chunk was kept: %v", paths(r.Chunks("")))
	}
}

func TestAddDocumentSplitsAtBlankLines(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "line%d\n", i)
		if i == 5 || i == 13 {
			b.WriteString("\n")
		}
	}
	r := New(16, 8)
	r.AddDocument("a.go", b.String())
	got := r.Chunks("")
	// 22 lines: [0,7) ends after the blank at line 6; [7,15) after the
	// blank at 14; [15,22) the rest.
	want := []Chunk{
		{Path: "a.go", StartLine: 0, Text: "line0\nline1\nline2\nline3\nline4\nline5\n\n"},
		{Path: "a.go", StartLine: 7, Text: "line6\nline7\nline8\nline9\nline10\nline11\nline12\nline13\n"},
		{Path: "a.go", StartLine: 15, Text: "\nline14\nline15\nline16\nline17\nline18\nline19\n"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks\n got %+v\nwant %+v", got, want)
	}
	// At most PerDocument chunks of one document.
	r2 := New(16, 2)
	var doc strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&doc, "x%d\n", i)
	}
	r2.AddDocument("b.go", doc.String())
	if n := len(r2.Chunks("")); n != PerDocument {
		t.Errorf("%d chunks, want %d", n, PerDocument)
	}
}

func TestJaccardAndIdentifiers(t *testing.T) {
	a := Identifiers("cfg, err := readConfig(path) // x 1")
	want := map[string]bool{"cfg": true, "err": true, "readConfig": true, "path": true}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("Identifiers = %v, want %v", a, want)
	}
	b := Identifiers("func readConfig(path string) (Config, error)")
	// {readConfig, path} shared; union {cfg, err, readConfig, path, func, string, Config, error} = 8.
	if got := Jaccard(a, b); got != 2.0/8 {
		t.Errorf("Jaccard = %v, want 0.25", got)
	}
	if Jaccard(nil, nil) != 0 {
		t.Error("Jaccard of empty sets is not 0")
	}
}

func TestSelectRanksAndKeepsTheBudget(t *testing.T) {
	chunks := []Chunk{
		{Path: "util.go", Text: "func helper() {}\n"},                                                            // shares nothing
		{Path: "config.go", Text: "func readConfig(path string) (Config, error) {\n\treturn Config{}, nil\n}\n"}, // best
		{Path: "main.go", Text: "cfg, err := readConfig(os.Args[1])\n"},                                          // shares cfg, err, readConfig
		{Path: "big.go", Text: strings.Repeat("readConfig path Config error cfg err\n", 20)},                     // similar but large
	}
	query := "func load(path string) (Config, error) {\n\tcfg, err := readConfig(path)\n"
	ranked := Rank(chunks, query)
	var order []string
	for _, s := range ranked {
		order = append(order, s.Path)
	}
	if want := []string{"big.go", "config.go", "main.go", "util.go"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("rank %v, want %v", order, want)
	}
	// Budget 160 bytes: big.go (757 bytes) does not fit and is skipped;
	// config.go (85) and main.go (47) do, best last; util.go (29) would
	// pass the budget by one byte.
	text, used := Select(chunks, query, "//", 160, bytesCount)
	wantText := "// main.go\ncfg, err := readConfig(os.Args[1])\n\n" +
		"// config.go\nfunc readConfig(path string) (Config, error) {\n\treturn Config{}, nil\n}\n\n"
	if text != wantText {
		t.Errorf("text\n%q\nwant\n%q", text, wantText)
	}
	if len(used) != 2 || used[0].Path != "config.go" || used[1].Path != "main.go" {
		t.Errorf("used %v", paths(used))
	}
	if len(text) > 160 {
		t.Errorf("%d bytes over the budget of 160", len(text))
	}
	// A budget too small for any chunk, or none: nothing.
	if text, used := Select(chunks, query, "//", 20, bytesCount); text != "" || used != nil {
		t.Errorf("budget 20: %q %v", text, used)
	}
	if text, _ := Select(chunks, query, "#", 0, bytesCount); text != "" {
		t.Errorf("budget 0: %q", text)
	}
	// Python's comment.
	if text, _ := Select(chunks[2:3], query, "#", 100, bytesCount); !strings.HasPrefix(text, "# main.go\n") {
		t.Errorf("python header: %q", text)
	}
}

// TestAddEditAtMatchesAddEdit checks the bounded region scan against the
// whole-text line arithmetic it replaces, at every offset of a few texts.
func TestAddEditAtMatchesAddEdit(t *testing.T) {
	texts := []string{"", "x", "a\n", "a\nb", "l0\nl1\nl2\nl3\nl4\nl5\nl6\nl7\n", "l0\nl1\n\nl3\nl4\nl5\nl6\nl7\nl8", "\n\n\nx\n\n"}
	for _, text := range texts {
		for off := 0; off <= len(text); off++ {
			// Whole lines; the empty "line" after a final newline is none.
			lines := strings.SplitAfter(text, "\n")
			if n := len(lines); n > 1 && lines[n-1] == "" {
				lines = lines[:n-1]
			}
			at := min(strings.Count(text[:off], "\n"), len(lines)-1)
			start := max(0, at-2)
			end := min(len(lines), start+4)
			start = max(0, end-4)
			want := Chunk{Path: "a.go", StartLine: start, Text: strings.Join(lines[start:end], "")}
			r := New(4, 4)
			r.AddEdit("a.go", text, off)
			got := r.Chunks("b.go")
			if strings.TrimSpace(want.Text) == "" {
				if len(got) != 0 {
					t.Errorf("%q at %d: got %+v, want nothing", text, off, got)
				}
				continue
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("%q at %d: got %+v, want %+v", text, off, got, want)
			}
		}
	}
}
