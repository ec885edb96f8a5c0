package document

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"go.lsp.dev/protocol"
)

// Encoding is the unit in which LSP positions count columns.
type Encoding uint8

const (
	// UTF16 counts UTF-16 code units: the LSP default.
	UTF16 Encoding = iota
	// UTF8 counts bytes.
	UTF8
	// UTF32 counts Unicode code points.
	UTF32
)

// ParseEncoding maps an LSP PositionEncodingKind ("utf-16", "utf-8",
// "utf-32") to an Encoding. ok is false for any other string.
func ParseEncoding(kind string) (enc Encoding, ok bool) {
	switch kind {
	case "utf-16":
		return UTF16, true
	case "utf-8":
		return UTF8, true
	case "utf-32":
		return UTF32, true
	}
	return UTF16, false
}

// String returns the LSP PositionEncodingKind of e.
func (e Encoding) String() string {
	switch e {
	case UTF8:
		return "utf-8"
	case UTF32:
		return "utf-32"
	default:
		return "utf-16"
	}
}

// ErrInvalidPosition marks a position or offset that does not name a place
// in the text: a line past the end, a column inside a character, or an
// offset outside the text.
var ErrInvalidPosition = errors.New("invalid position")

// Mapper converts between LSP positions and byte offsets in one text. It is
// immutable and safe for concurrent use.
type Mapper struct {
	text  string
	lines []int // byte offset at which each line starts; never empty
}

// NewMapper indexes the lines of text. It runs in time linear in len(text).
func NewMapper(text string) *Mapper {
	return &Mapper{text: text, lines: scanLines(make([]int, 1, 1+len(text)/32), text, 0, len(text), true)}
}

// scanLines appends to lines the start of every line that begins after a
// terminator found in text[from:to] (a "\r" at to-1 is paired with a "\n"
// at to). A line start equal to to is appended only when atEnd is set.
// Text without "\r" is scanned with strings.IndexByte, several times
// faster than a byte loop on long documents.
func scanLines(lines []int, text string, from, to int, atEnd bool) []int {
	if strings.IndexByte(text[from:to], '\r') < 0 {
		for i := from; i < to; {
			j := strings.IndexByte(text[i:to], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			if i < to || atEnd {
				lines = append(lines, i)
			}
		}
		return lines
	}
	for i := from; i < to; i++ {
		switch text[i] {
		case '\n':
		case '\r':
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
		default:
			continue
		}
		if i+1 < to || atEnd {
			lines = append(lines, i+1)
		}
	}
	return lines
}

// splice returns the mapper of text, which is m's text with
// m.text[start:end] replaced by ins. Only the lines around the edit are
// rescanned; the line starts after it are shifted, so a keystroke in a
// large document costs a copy of the line table, not a scan of the text.
func (m *Mapper) splice(start, end int, ins, text string) *Mapper {
	delta := len(ins) - (end - start)
	// Line starts before start stay (their terminators end before start and
	// the byte after a "\r" there is unchanged); those at or after end+2
	// shift by delta (their terminators lie wholly in the unchanged tail).
	a := max(sort.SearchInts(m.lines, start)-1, 0)
	b := sort.SearchInts(m.lines, end+2)
	lines := make([]int, 0, a+1+strings.Count(ins, "\n")+2+len(m.lines)-b)
	lines = append(lines, m.lines[:a+1]...)
	if b == len(m.lines) {
		lines = scanLines(lines, text, m.lines[a], len(text), true)
	} else {
		lines = scanLines(lines, text, m.lines[a], m.lines[b]+delta, false)
		for _, l := range m.lines[b:] {
			lines = append(lines, l+delta)
		}
	}
	return &Mapper{text: text, lines: lines}
}

// Text returns the text the mapper indexes.
func (m *Mapper) Text() string { return m.text }

// LineCount returns the number of lines; a text ending in a line terminator
// has an empty last line, and the empty text has one line.
func (m *Mapper) LineCount() int { return len(m.lines) }

// lineBounds returns the byte offsets of the first character of line and of
// its end, excluding the line terminator. Precondition: 0 <= line < LineCount.
func (m *Mapper) lineBounds(line int) (start, end int) {
	start = m.lines[line]
	if line+1 == len(m.lines) {
		return start, len(m.text)
	}
	end = m.lines[line+1] - 1 // drop '\n' or a lone '\r'
	if m.text[end] == '\n' && end > start && m.text[end-1] == '\r' {
		end--
	}
	return start, end
}

// width returns how many columns the character at the start of s occupies
// in enc and its length in bytes. An invalid byte is one column wide.
func width(s string, enc Encoding) (cols, size int) {
	r, size := utf8.DecodeRuneInString(s)
	switch enc {
	case UTF8:
		return size, size
	case UTF32:
		return 1, size
	default:
		if r >= 0x10000 && size == 4 {
			return 2, size
		}
		return 1, size
	}
}

// PositionOffset returns the byte offset of p in the text. A column past the
// end of its line maps to the end of the line; a line past the last line or a
// column inside a character is an error wrapping ErrInvalidPosition.
func (m *Mapper) PositionOffset(p protocol.Position, enc Encoding) (int, error) {
	if int64(p.Line) >= int64(len(m.lines)) {
		return 0, fmt.Errorf("line %d of a %d-line document: %w", p.Line, len(m.lines), ErrInvalidPosition)
	}
	start, end := m.lineBounds(int(p.Line))
	want := int64(p.Character)
	var col int64
	for off := start; off < end; {
		if col == want {
			return off, nil
		}
		w, size := width(m.text[off:end], enc)
		col += int64(w)
		off += size
		if col > want {
			return 0, fmt.Errorf("column %d of line %d is inside a character (%s): %w", p.Character, p.Line, enc, ErrInvalidPosition)
		}
	}
	return end, nil
}

// OffsetPosition returns the position of the byte offset. An offset outside
// [0, len(text)] or inside a UTF-8 sequence is an error wrapping
// ErrInvalidPosition; an offset inside a "\r\n" terminator maps to the end of
// its line.
func (m *Mapper) OffsetPosition(offset int, enc Encoding) (protocol.Position, error) {
	if offset < 0 || offset > len(m.text) {
		return protocol.Position{}, fmt.Errorf("offset %d of a %d-byte text: %w", offset, len(m.text), ErrInvalidPosition)
	}
	line := sort.Search(len(m.lines), func(i int) bool { return m.lines[i] > offset }) - 1
	start, end := m.lineBounds(line)
	if offset > end {
		offset = end
	}
	var col uint32
	off := start
	for off < offset {
		w, size := width(m.text[off:end], enc)
		col += uint32(w)
		off += size
	}
	if off != offset {
		return protocol.Position{}, fmt.Errorf("offset %d is inside a UTF-8 sequence: %w", offset, ErrInvalidPosition)
	}
	return protocol.Position{Line: uint32(line), Character: col}, nil
}

// RangeOffsets returns the byte offsets of r's start and end. It fails like
// PositionOffset, and when the end comes before the start.
func (m *Mapper) RangeOffsets(r protocol.Range, enc Encoding) (start, end int, err error) {
	start, err = m.PositionOffset(r.Start, enc)
	if err != nil {
		return 0, 0, fmt.Errorf("range start: %w", err)
	}
	end, err = m.PositionOffset(r.End, enc)
	if err != nil {
		return 0, 0, fmt.Errorf("range end: %w", err)
	}
	if end < start {
		return 0, 0, fmt.Errorf("range end %d:%d before start %d:%d: %w", r.End.Line, r.End.Character, r.Start.Line, r.Start.Character, ErrInvalidPosition)
	}
	return start, end, nil
}

// OffsetsRange returns the range between two byte offsets.
func (m *Mapper) OffsetsRange(start, end int, enc Encoding) (protocol.Range, error) {
	if end < start {
		return protocol.Range{}, fmt.Errorf("offsets %d > %d: %w", start, end, ErrInvalidPosition)
	}
	s, err := m.OffsetPosition(start, enc)
	if err != nil {
		return protocol.Range{}, err
	}
	e, err := m.OffsetPosition(end, enc)
	if err != nil {
		return protocol.Range{}, err
	}
	return protocol.Range{Start: s, End: e}, nil
}

// LineOf returns the line that contains the byte offset, clamped to the
// text.
func (m *Mapper) LineOf(offset int) int {
	offset = max(0, min(offset, len(m.text)))
	return sort.Search(len(m.lines), func(i int) bool { return m.lines[i] > offset }) - 1
}

// LineBounds returns the byte offsets of the start of line and of its end
// (before the terminator), clamped to the text.
func (m *Mapper) LineBounds(line int) (start, end int) {
	line = max(0, min(line, len(m.lines)-1))
	return m.lineBounds(line)
}
