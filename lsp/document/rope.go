package document

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"go.lsp.dev/protocol"
)

// A rope holds a text as a list of chunks of a few kilobytes while a
// didChange with many edits is applied: each edit then costs a walk over
// the chunk list and a copy of one chunk instead of a copy of the whole
// text, so 10,000 edits on a megabyte take milliseconds, not the tens of
// seconds that splicing the flat text each time takes.
//
// Chunks never end between the "\r" and "\n" of a terminator, nor inside a
// UTF-8 sequence (they end before a byte that starts a character), so lines
// and characters are read the same in a chunk as in the whole text.
type rope struct {
	chunks []string
	nl     []int // line terminators in each chunk ("\r\n" counts once)
	size   int
}

// Chunk sizes: pieces are cut at the first line end after chunkTarget
// bytes, or at chunkMax bytes when a line is longer.
const (
	chunkTarget = 4 << 10
	chunkMax    = 8 << 10
)

func newRope(text string) *rope {
	r := &rope{size: len(text)}
	r.chunks, r.nl = appendChunks(nil, nil, text)
	if len(r.chunks) == 0 {
		r.chunks, r.nl = []string{""}, []int{0}
	}
	return r
}

// appendChunks cuts text into chunks and appends them with their
// terminator counts.
func appendChunks(chunks []string, nl []int, text string) ([]string, []int) {
	for len(text) > 0 {
		cut := len(text)
		if cut > chunkMax {
			cut = chunkMax
			if i := strings.IndexByte(text[chunkTarget:chunkMax], '\n'); i >= 0 {
				cut = chunkTarget + i + 1
			} else {
				for cut > chunkTarget && !utf8.RuneStart(text[cut]) {
					cut--
				}
				if text[cut-1] == '\r' && text[cut] == '\n' {
					cut++
				}
			}
		}
		chunks = append(chunks, text[:cut])
		nl = append(nl, terminators(text[:cut]))
		text = text[cut:]
	}
	return chunks, nl
}

// terminators counts the line terminators in s, which does not end between
// "\r" and "\n".
func terminators(s string) int {
	n := strings.Count(s, "\n")
	if cr := strings.Count(s, "\r"); cr > 0 {
		n += cr - strings.Count(s, "\r\n")
	}
	return n
}

// String returns the whole text.
func (r *rope) String() string {
	if len(r.chunks) == 1 {
		return r.chunks[0]
	}
	var b strings.Builder
	b.Grow(r.size)
	for _, c := range r.chunks {
		b.WriteString(c)
	}
	return b.String()
}

// positionOffset is Mapper.PositionOffset on the rope's text.
func (r *rope) positionOffset(p protocol.Position, enc Encoding) (int, error) {
	// Find the chunk holding the p.Line-th terminator; the line starts
	// right after it.
	ci, off, base := 0, 0, 0 // chunk, offset in it, chunk's offset in the text
	if p.Line > 0 {
		left := int64(p.Line)
		for ci < len(r.chunks) && left > int64(r.nl[ci]) {
			left -= int64(r.nl[ci])
			base += len(r.chunks[ci])
			ci++
		}
		if ci == len(r.chunks) {
			lines := 1
			for _, n := range r.nl {
				lines += n
			}
			return 0, fmt.Errorf("line %d of a %d-line document: %w", p.Line, lines, ErrInvalidPosition)
		}
		c := r.chunks[ci]
	scan:
		for i := 0; ; i++ {
			switch c[i] {
			case '\n':
			case '\r':
				if i+1 < len(c) && c[i+1] == '\n' {
					i++
				}
			default:
				continue
			}
			if left--; left == 0 {
				off = i + 1
				break scan
			}
		}
	}
	// Count columns from the line start to the wanted one or the line end.
	want := int64(p.Character)
	var col int64
	for ; ci < len(r.chunks); ci, off, base = ci+1, 0, base+len(r.chunks[ci]) {
		c := r.chunks[ci]
		for off < len(c) {
			if c[off] == '\n' || c[off] == '\r' || col == want {
				return base + off, nil
			}
			w, size := width(c[off:], enc)
			col += int64(w)
			off += size
			if col > want {
				return 0, fmt.Errorf("column %d of line %d is inside a character (%s): %w", p.Character, p.Line, enc, ErrInvalidPosition)
			}
		}
	}
	return r.size, nil
}

// rangeOffsets is Mapper.RangeOffsets on the rope's text.
func (r *rope) rangeOffsets(rg protocol.Range, enc Encoding) (start, end int, err error) {
	start, err = r.positionOffset(rg.Start, enc)
	if err != nil {
		return 0, 0, fmt.Errorf("range start: %w", err)
	}
	end, err = r.positionOffset(rg.End, enc)
	if err != nil {
		return 0, 0, fmt.Errorf("range end: %w", err)
	}
	if end < start {
		return 0, 0, fmt.Errorf("range end %d:%d before start %d:%d: %w", rg.End.Line, rg.End.Character, rg.Start.Line, rg.Start.Character, ErrInvalidPosition)
	}
	return start, end, nil
}

// chunkAt returns the chunk holding offset and the chunk's start; an
// offset at a chunk boundary belongs to the chunk before it.
func (r *rope) chunkAt(offset int) (ci, base int) {
	for ci < len(r.chunks)-1 && base+len(r.chunks[ci]) < offset {
		base += len(r.chunks[ci])
		ci++
	}
	return ci, base
}

// replace replaces text[start:end] with ins (0 <= start <= end <= size).
func (r *rope) replace(start, end int, ins string) {
	i, ibase := r.chunkAt(start)
	j, jbase := i, ibase
	for j < len(r.chunks)-1 && jbase+len(r.chunks[j]) < end {
		jbase += len(r.chunks[j])
		j++
	}
	piece := r.chunks[i][:start-ibase] + ins + r.chunks[j][end-jbase:]
	// Keep "\r\n" inside one chunk, and absorb small neighbours so edits do
	// not leave a trail of tiny chunks.
	for i > 0 && (len(piece) < chunkTarget/2 || strings.HasPrefix(piece, "\n") && strings.HasSuffix(r.chunks[i-1], "\r")) && len(r.chunks[i-1])+len(piece) <= chunkMax {
		i--
		piece = r.chunks[i] + piece
	}
	for j < len(r.chunks)-1 && (len(piece) < chunkTarget/2 || strings.HasSuffix(piece, "\r") && strings.HasPrefix(r.chunks[j+1], "\n")) {
		j++
		piece += r.chunks[j]
	}
	if i > 0 && strings.HasPrefix(piece, "\n") && strings.HasSuffix(r.chunks[i-1], "\r") {
		i--
		piece = r.chunks[i] + piece
	}
	chunks, nl := appendChunks(nil, nil, piece)
	r.chunks = splice(r.chunks, i, j+1, chunks)
	r.nl = splice(r.nl, i, j+1, nl)
	if len(r.chunks) == 0 {
		r.chunks, r.nl = []string{""}, []int{0}
	}
	r.size += len(ins) - (end - start)
}

// splice replaces s[i:j] with repl.
func splice[T any](s []T, i, j int, repl []T) []T {
	if len(repl) == j-i {
		copy(s[i:], repl)
		return s
	}
	out := make([]T, 0, len(s)-(j-i)+len(repl))
	out = append(out, s[:i]...)
	out = append(out, repl...)
	return append(out, s[j:]...)
}
