package document

import (
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// boundary snaps i into [0, len(s)] and back to the start of the character
// (or invalid byte) that contains it.
func boundary(s string, i int) int {
	if len(s) == 0 {
		return 0
	}
	if i < 0 {
		i = -i
	}
	i %= len(s) + 1
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	// i may still sit inside a truncated or invalid sequence that decodes
	// byte by byte; walk from the line start to find a real boundary.
	b := 0
	for b < i {
		_, size := utf8.DecodeRuneInString(s[b:])
		if b+size > i {
			break
		}
		b += size
	}
	// Never split "\r\n": that is inside a line terminator.
	if b > 0 && b < len(s) && s[b-1] == '\r' && s[b] == '\n' {
		b--
	}
	return b
}

// FuzzApplyChanges checks that a sequence of incremental edits, each given
// as an LSP range the Mapper computed, yields the same text as splicing the
// bytes directly (a full replace), and that positions round-trip through the
// Mapper in every encoding and agree with an independent UTF-16 count.
func FuzzApplyChanges(f *testing.F) {
	f.Add("func main() {\n\tx := 1\n}\n", 13, 13, "fmt.Println()", 3, 0, "😀")
	f.Add("aé世😀b\r\nx\ry\n", 1, 10, "", 12, 13, "\r\n")
	f.Add("\xff\xfe\xe4\xb8", 0, 3, "z", 1, 1, "世")
	f.Add("", 0, 0, "hello\nworld", 0, 0, "")
	f.Fuzz(func(t *testing.T, text string, a1, b1 int, ins1 string, a2, b2 int, ins2 string) {
		type edit struct {
			a, b int
			ins  string
		}
		edits := []edit{{a1, b1, ins1}, {a2, b2, ins2}}
		for _, enc := range []Encoding{UTF16, UTF8, UTF32} {
			doc := New("file:///f", "go", 0, text)
			want := text
			for i, e := range edits {
				start, end := boundary(want, e.a), boundary(want, e.b)
				if start > end {
					start, end = end, start
				}
				r, err := doc.Mapper().OffsetsRange(start, end, enc)
				if err != nil {
					t.Fatalf("%s: OffsetsRange(%d, %d) of %q: %v", enc, start, end, want, err)
				}
				doc, err = doc.Apply(int32(i+1), []Change{{Range: &r, Text: e.ins}}, enc)
				if err != nil {
					t.Fatalf("%s: Apply %v to %q: %v", enc, r, want, err)
				}
				want = want[:start] + e.ins + want[end:]
				if doc.Text != want {
					t.Fatalf("%s: incremental %q != full replace %q", enc, doc.Text, want)
				}
			}
			checkRoundTrip(t, doc.Mapper(), enc)
		}
	})
}

func checkRoundTrip(t *testing.T, m *Mapper, enc Encoding) {
	text := m.Text()
	for off := 0; off <= len(text); {
		p, err := m.OffsetPosition(off, enc)
		if err != nil {
			t.Fatalf("%s: OffsetPosition(%d) of %q: %v", enc, off, text, err)
		}
		inCRLF := off > 0 && off < len(text) && text[off-1] == '\r' && text[off] == '\n'
		back, err := m.PositionOffset(p, enc)
		if err != nil {
			t.Fatalf("%s: PositionOffset(%v) of %q: %v", enc, p, text, err)
		}
		if back != off && !(inCRLF && back == off-1) {
			t.Fatalf("%s: offset %d -> %v -> %d in %q", enc, off, p, back, text)
		}
		if enc == UTF16 && utf8.ValidString(text) && !inCRLF {
			start, _ := m.LineBounds(int(p.Line))
			if n := len(utf16.Encode([]rune(text[start:off]))); uint32(n) != p.Character {
				t.Fatalf("utf-16 column of offset %d in %q = %d, want %d", off, text, p.Character, n)
			}
		}
		if off == len(text) {
			break
		}
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
	}
}
