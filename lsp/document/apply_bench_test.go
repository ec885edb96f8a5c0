package document

import (
	"math/rand/v2"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// sourceText returns about n bytes of Go-like text with mixed line lengths,
// a CRLF and an emoji here and there.
func sourceText(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	lines := []string{"func f(x int) int {", "\treturn x + 1 // 😀 ok", "}", "", "\tif err != nil {\r", "\t\tvar s = \"héllo, wörld\""}
	for b.Len() < n {
		b.WriteString(lines[r.IntN(len(lines))])
		b.WriteByte('\n')
	}
	return b.String()
}

// randomChanges returns n small edits, each a valid range of the text left
// by the ones before it (computed by applying them one by one).
func randomChanges(text string, n int, enc Encoding, seed uint64) []Change {
	r := rand.New(rand.NewPCG(seed, 2))
	inserts := []string{"", "x", "😀", "\r\n", "\n", "ab\ncd", "é"}
	m := NewMapper(text)
	var out []Change
	for range n {
		a, b := boundary(text, r.IntN(len(text)+1)), boundary(text, r.IntN(len(text)+1))
		if a > b {
			a, b = b, a
		}
		if b-a > 64 {
			b = boundary(text, a+r.IntN(64))
			if b < a {
				b = a
			}
		}
		rg, err := m.OffsetsRange(a, b, enc)
		if err != nil {
			panic(err)
		}
		ins := inserts[r.IntN(len(inserts))]
		out = append(out, Change{Range: &rg, Text: ins})
		s, e, err := m.RangeOffsets(rg, enc)
		if err != nil {
			panic(err)
		}
		text = text[:s] + ins + text[e:]
		m = NewMapper(text)
	}
	return out
}

// BenchmarkApplyManyEdits is one didChange with 10,000 edits on a 1 MB
// document.
func BenchmarkApplyManyEdits(b *testing.B) {
	text := sourceText(1<<20, 1)
	changes := randomChanges(text, 10000, UTF16, 3)
	doc := New("file:///f", "go", 1, text)
	b.ResetTimer()
	for b.Loop() {
		if _, err := doc.Apply(2, changes, UTF16); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyOneEdit50MB is one keystroke in a 50 MB document.
func BenchmarkApplyOneEdit50MB(b *testing.B) {
	text := sourceText(50<<20, 1)
	doc := New("file:///f", "go", 1, text)
	line := uint32(doc.Mapper().LineCount() / 2)
	ch := []Change{{Range: &protocol.Range{Start: protocol.Position{Line: line, Character: 1}, End: protocol.Position{Line: line, Character: 1}}, Text: "x"}}
	b.ResetTimer()
	for b.Loop() {
		var err error
		if doc, err = doc.Apply(doc.Version+1, ch, UTF16); err != nil {
			b.Fatal(err)
		}
	}
}
