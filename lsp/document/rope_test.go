package document

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// applySlow is the reference Apply: each change splices the flat text and
// re-indexes it from scratch.
func applySlow(text string, changes []Change, enc Encoding) (string, error) {
	for _, c := range changes {
		if c.Range == nil {
			text = c.Text
			continue
		}
		start, end, err := NewMapper(text).RangeOffsets(*c.Range, enc)
		if err != nil {
			return "", err
		}
		text = text[:start] + c.Text + text[end:]
	}
	return text, nil
}

// checkApply applies changes with Apply (one at a time, and as a batch
// through the rope) and compares text, line table and errors with
// applySlow.
func checkApply(t *testing.T, text string, changes []Change, enc Encoding) {
	t.Helper()
	want, wantErr := applySlow(text, changes, enc)
	doc := New("file:///f", "go", 1, text)
	batch, err := doc.Apply(2, changes, enc)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s: batch err = %v, reference err = %v (text %q, changes %v)", enc, err, wantErr, text, changes)
	}
	if err != nil {
		if !errors.Is(err, ErrInvalidPosition) {
			t.Fatalf("%s: error %v does not wrap ErrInvalidPosition", enc, err)
		}
		return
	}
	if batch.Text != want {
		t.Fatalf("%s: batch text %q, want %q (from %q)", enc, batch.Text, want, text)
	}
	seq := doc
	for _, c := range changes {
		if seq, err = seq.Apply(seq.Version+1, []Change{c}, enc); err != nil {
			t.Fatalf("%s: single change: %v", enc, err)
		}
	}
	if seq.Text != want {
		t.Fatalf("%s: one-by-one text %q, want %q", enc, seq.Text, want)
	}
	fresh := NewMapper(want)
	for name, m := range map[string]*Mapper{"batch": batch.Mapper(), "one-by-one": seq.Mapper()} {
		if !slices.Equal(m.lines, fresh.lines) {
			t.Fatalf("%s: %s line table %v, want %v (text %q)", enc, name, m.lines, fresh.lines, want)
		}
	}
}

// randomPos returns a position near the text's lines, sometimes past the
// end or inside a character, to exercise errors too.
func randomPos(r *rand.Rand, m *Mapper, enc Encoding) protocol.Position {
	if r.IntN(20) == 0 {
		return protocol.Position{Line: uint32(r.IntN(m.LineCount() + 3)), Character: uint32(r.IntN(12))}
	}
	p, err := m.OffsetPosition(boundary(m.Text(), r.IntN(len(m.Text())+1)), enc)
	if err != nil {
		panic(err)
	}
	return p
}

func TestApplyBatchMatchesReference(t *testing.T) {
	pieces := []string{"a", "é", "😀", "\r", "\n", "\r\n", "\xff", "世", "\t", "xyz\n"}
	inserts := append([]string{"", strings.Repeat("long line ", 1000) + "\n"}, pieces...)
	r := rand.New(rand.NewPCG(7, 7))
	for iter := range 300 {
		var b strings.Builder
		n := r.IntN(40)
		switch {
		case iter%50 == 0:
			n = 20000 // many chunks
		case iter%10 == 0:
			n = 4000 // a chunk boundary or two
		}
		for range n {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		text := b.String()
		for _, enc := range []Encoding{UTF16, UTF8, UTF32} {
			// Build a valid sequence of changes against the evolving text,
			// with an occasional invalid one.
			cur := text
			var changes []Change
			for range 1 + r.IntN(30) {
				m := NewMapper(cur)
				var c Change
				if r.IntN(40) == 0 {
					c = Change{Text: inserts[r.IntN(len(inserts))]}
				} else {
					s, e := randomPos(r, m, enc), randomPos(r, m, enc)
					if e.Line < s.Line || e.Line == s.Line && e.Character < s.Character {
						s, e = e, s
					}
					c = Change{Range: &protocol.Range{Start: s, End: e}, Text: inserts[r.IntN(len(inserts))]}
				}
				changes = append(changes, c)
				next, err := applySlow(cur, []Change{c}, enc)
				if err != nil {
					break
				}
				cur = next
			}
			checkApply(t, text, changes, enc)
		}
	}
}

// FuzzApplyBatch compares a batch applied through the rope with the
// reference, for changes decoded from the fuzzer's bytes.
func FuzzApplyBatch(f *testing.F) {
	f.Add("a\r\nb\rc\n😀", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add(strings.Repeat("x\r", 5000)+"\n", []byte{200, 3, 1, 0, 0, 9, 250, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, text string, ops []byte) {
		inserts := []string{"", "\n", "\r", "\r\n", "😀", "ab", "\xe2", "\x82\xac"}
		var changes []Change
		for len(ops) >= 5 && len(changes) < 64 {
			changes = append(changes, Change{
				Range: &protocol.Range{
					Start: protocol.Position{Line: uint32(ops[0] % 16), Character: uint32(ops[1] % 32)},
					End:   protocol.Position{Line: uint32(ops[0]%16 + ops[2]%3), Character: uint32(ops[3] % 32)},
				},
				Text: inserts[int(ops[4])%len(inserts)],
			})
			ops = ops[5:]
		}
		for _, enc := range []Encoding{UTF16, UTF8, UTF32} {
			checkApply(t, text, changes, enc)
		}
	})
}
