package document

import (
	"errors"
	"testing"

	"go.lsp.dev/protocol"
)

func rng(l1, c1, l2, c2 uint32) *protocol.Range {
	return &protocol.Range{Start: pos(l1, c1), End: pos(l2, c2)}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		changes []Change
		enc     Encoding
		want    string
		wantErr bool
	}{
		{"insert", "func main() {}", []Change{{rng(0, 13, 0, 13), "\n\tx := 1\n"}}, UTF16, "func main() {\n\tx := 1\n}", false},
		{"sequential changes see earlier ones", "abc", []Change{{rng(0, 3, 0, 3), "\nd"}, {rng(1, 1, 1, 1), "e"}}, UTF16, "abc\nde", false},
		{"full replace then range", "old", []Change{{nil, "new text"}, {rng(0, 0, 0, 3), "old"}}, UTF16, "old text", false},
		{"after emoji utf16", "😀x", []Change{{rng(0, 2, 0, 3), "y"}}, UTF16, "😀y", false},
		{"after emoji utf8", "😀x", []Change{{rng(0, 4, 0, 5), "y"}}, UTF8, "😀y", false},
		{"delete across crlf", "a\r\nb", []Change{{rng(0, 1, 1, 0), ""}}, UTF16, "ab", false},
		{"inside surrogate pair", "😀x", []Change{{rng(0, 1, 0, 1), "y"}}, UTF16, "", true},
		{"line past end", "a", []Change{{rng(3, 0, 3, 0), "y"}}, UTF16, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New("file:///a.go", "go", 1, tt.text)
			got, err := d.Apply(2, tt.changes, tt.enc)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidPosition) {
					t.Fatalf("Apply: %v, want ErrInvalidPosition", err)
				}
				if d.Text != tt.text {
					t.Fatalf("original changed to %q", d.Text)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tt.want || got.Version != 2 || got.Mapper().Text() != tt.want {
				t.Fatalf("Apply = %q (v%d), want %q", got.Text, got.Version, tt.want)
			}
			if d.Text != tt.text || d.Version != 1 {
				t.Fatalf("snapshot mutated: %q v%d", d.Text, d.Version)
			}
		})
	}
}
