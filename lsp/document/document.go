package document

import (
	"fmt"
	"strings"

	"go.lsp.dev/protocol"
)

// Document is an immutable snapshot of one open text document.
type Document struct {
	URI        string // as the client sent it
	LanguageID string // LSP language id ("go", "python", ...)
	Version    int32  // the client's version of this text
	Text       string // the whole text, as received (normally UTF-8)
	mapper     *Mapper
}

// New returns a snapshot of text.
func New(uri, languageID string, version int32, text string) *Document {
	return &Document{URI: uri, LanguageID: languageID, Version: version, Text: text, mapper: NewMapper(text)}
}

// Mapper returns the position mapper for the snapshot's text.
func (d *Document) Mapper() *Mapper { return d.mapper }

// Change is one content change of textDocument/didChange: Range nil replaces
// the whole text, otherwise Text replaces the range.
type Change struct {
	Range *protocol.Range
	Text  string
}

// Apply returns a new snapshot with changes applied in order, each against
// the text left by the one before it, as LSP specifies. On error d is
// unchanged and the error (wrapping ErrInvalidPosition) names the change.
func (d *Document) Apply(version int32, changes []Change, enc Encoding) (*Document, error) {
	text, m := d.Text, d.mapper
	for i, c := range changes {
		if c.Range == nil {
			text, m = c.Text, nil
			continue
		}
		if m == nil {
			m = NewMapper(text)
		}
		start, end, err := m.RangeOffsets(*c.Range, enc)
		if err != nil {
			return nil, fmt.Errorf("change %d of %s: %w", i, d.URI, err)
		}
		var b strings.Builder
		b.Grow(len(text) - (end - start) + len(c.Text))
		b.WriteString(text[:start])
		b.WriteString(c.Text)
		b.WriteString(text[end:])
		text, m = b.String(), nil
	}
	if m == nil || m.text != text {
		m = NewMapper(text)
	}
	return &Document{URI: d.URI, LanguageID: d.LanguageID, Version: version, Text: text, mapper: m}, nil
}
