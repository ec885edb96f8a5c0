package document

import (
	"errors"
	"testing"

	"go.lsp.dev/protocol"
)

func pos(line, char uint32) protocol.Position { return protocol.Position{Line: line, Character: char} }

func TestPositionOffset(t *testing.T) {
	// "é" is 2 bytes / 1 UTF-16 unit, "世" 3 bytes / 1 unit, "😀" 4 bytes / 2 units.
	text := "aé世😀b\r\nx\ry\n"
	tests := []struct {
		name    string
		p       protocol.Position
		enc     Encoding
		want    int
		wantErr bool
	}{
		{"start", pos(0, 0), UTF16, 0, false},
		{"after e-acute utf16", pos(0, 2), UTF16, 3, false},
		{"after cjk utf16", pos(0, 3), UTF16, 6, false},
		{"after emoji utf16", pos(0, 5), UTF16, 10, false},
		{"inside emoji utf16", pos(0, 4), UTF16, 0, true},
		{"end of line utf16", pos(0, 6), UTF16, 11, false},
		{"past end clamps", pos(0, 99), UTF16, 11, false},
		{"after emoji utf8", pos(0, 10), UTF8, 10, false},
		{"inside cjk utf8", pos(0, 4), UTF8, 0, true},
		{"after emoji utf32", pos(0, 4), UTF32, 10, false},
		{"second line after crlf", pos(1, 0), UTF16, 13, false},
		{"second line clamp before cr", pos(1, 5), UTF16, 14, false},
		{"third line after lone cr", pos(2, 1), UTF16, 16, false},
		{"empty last line", pos(3, 0), UTF16, 17, false},
		{"line past end", pos(4, 0), UTF16, 0, true},
		{"huge line", pos(1<<31, 0), UTF16, 0, true},
	}
	m := NewMapper(text)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.PositionOffset(tt.p, tt.enc)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidPosition) {
					t.Fatalf("PositionOffset(%v) = %d, %v; want ErrInvalidPosition", tt.p, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("PositionOffset(%v, %s) = %d, %v; want %d", tt.p, tt.enc, got, err, tt.want)
			}
		})
	}
}

func TestOffsetPosition(t *testing.T) {
	text := "aé世😀b\r\nx"
	m := NewMapper(text)
	tests := []struct {
		offset  int
		enc     Encoding
		want    protocol.Position
		wantErr bool
	}{
		{0, UTF16, pos(0, 0), false},
		{6, UTF16, pos(0, 3), false},
		{10, UTF16, pos(0, 5), false},
		{10, UTF8, pos(0, 10), false},
		{10, UTF32, pos(0, 4), false},
		{12, UTF16, pos(0, 6), false}, // between \r and \n: end of line
		{13, UTF16, pos(1, 0), false},
		{14, UTF16, pos(1, 1), false},
		{2, UTF16, pos(0, 0), true}, // inside é
		{-1, UTF16, pos(0, 0), true},
		{15, UTF16, pos(0, 0), true},
	}
	for _, tt := range tests {
		got, err := m.OffsetPosition(tt.offset, tt.enc)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidPosition) {
				t.Errorf("OffsetPosition(%d) = %v, %v; want ErrInvalidPosition", tt.offset, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("OffsetPosition(%d, %s) = %v, %v; want %v", tt.offset, tt.enc, got, err, tt.want)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	// Each invalid byte is one column in every encoding.
	text := "a\xff\xfeb\xe4\xb8c"
	m := NewMapper(text)
	for _, enc := range []Encoding{UTF16, UTF8, UTF32} {
		for col := uint32(0); col <= 7; col++ {
			off, err := m.PositionOffset(pos(0, col), enc)
			if err != nil {
				t.Fatalf("%s col %d: %v", enc, col, err)
			}
			if int(col) != off {
				t.Errorf("%s col %d: offset %d, want %d", enc, col, off, col)
			}
			back, err := m.OffsetPosition(off, enc)
			if err != nil || back.Character != col {
				t.Errorf("%s offset %d: %v, %v; want col %d", enc, off, back, err, col)
			}
		}
	}
}

func TestRangeOffsetsReversed(t *testing.T) {
	m := NewMapper("hello\nworld")
	_, _, err := m.RangeOffsets(protocol.Range{Start: pos(1, 2), End: pos(0, 1)}, UTF16)
	if !errors.Is(err, ErrInvalidPosition) {
		t.Fatalf("reversed range: %v, want ErrInvalidPosition", err)
	}
}

func TestParseEncoding(t *testing.T) {
	for _, enc := range []Encoding{UTF16, UTF8, UTF32} {
		got, ok := ParseEncoding(enc.String())
		if !ok || got != enc {
			t.Errorf("ParseEncoding(%q) = %v, %v", enc.String(), got, ok)
		}
	}
	if _, ok := ParseEncoding("utf-7"); ok {
		t.Error("ParseEncoding(utf-7) ok")
	}
}
