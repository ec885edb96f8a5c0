package lsp

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/lsp/document"
)

// TestEdits checks how candidates become ranges: insert-only wherever that
// gives the same text, the auto-closed rest of the line covered only by
// inline edits that retype it, and completion items starting at the word
// before the cursor.
func TestEdits(t *testing.T) {
	closers := "\tx := foo(a)\n\ty := 2\n" // the rest of the line is only ")"
	more := "\tx := foo(a) + b\n"          // the rest of the line is more than closers
	cursor := len("\tx := foo(a")
	tests := []struct {
		name  string
		text  string
		sel   *selection
		style editStyle
		cands []infill.Candidate
		want  []edit
	}{
		{"insert", closers, nil, inlineEdits, []infill.Candidate{{Text: "bc", Start: cursor, End: cursor}},
			[]edit{{start: cursor, end: cursor, text: "bc"}}},
		{"swallowed closer that is the rest of the line: kept", closers, nil, inlineEdits,
			[]infill.Candidate{{Text: ", b)", Start: cursor, End: cursor + 1}},
			[]edit{{start: cursor, end: cursor + 1, text: ", b)"}}},
		{"re-typed closers at the end of the line are covered", closers, nil, inlineEdits,
			[]infill.Candidate{{Text: ", b)", Start: cursor, End: cursor}},
			[]edit{{start: cursor, end: cursor + 1, text: ", b)"}}},
		{"multi-line text re-typing the closers", closers, nil, inlineEdits,
			[]infill.Candidate{{Text: ",\n\t\tb)", Start: cursor, End: cursor + 1}},
			[]edit{{start: cursor, end: cursor + 1, text: ",\n\t\tb)"}}},
		{"more than closers after the cursor: insert-only", more, nil, inlineEdits,
			[]infill.Candidate{{Text: ", b)", Start: cursor, End: cursor + 1}},
			[]edit{{start: cursor, end: cursor, text: ", b"}}},
		{"more than closers, nothing swallowed: inserted as is", more, nil, inlineEdits,
			[]infill.Candidate{{Text: ", b", Start: cursor, End: cursor}},
			[]edit{{start: cursor, end: cursor, text: ", b"}}},
		{"closers not re-typed: insert-only", closers, nil, inlineEdits,
			[]infill.Candidate{{Text: ", b", Start: cursor, End: cursor}},
			[]edit{{start: cursor, end: cursor, text: ", b"}}},
		{"starts after the cursor", closers, nil, inlineEdits, []infill.Candidate{{Text: "!", Start: cursor + 1, End: cursor + 1}},
			[]edit{{start: cursor, end: cursor + 1, text: ")!"}}},
		{"replaces what it does not retype: kept as a replacement", closers, nil, inlineEdits,
			[]infill.Candidate{{Text: "z", Start: cursor, End: cursor + 1}},
			[]edit{{start: cursor, end: cursor + 1, text: "z"}}},
		{"typed text before the cursor repeated: trimmed", closers, nil, inlineEdits,
			[]infill.Candidate{{Text: "abc", Start: cursor - 1, End: cursor}},
			[]edit{{start: cursor, end: cursor, text: "bc"}}},
		{"item: word prefix", closers, nil, itemEdits, []infill.Candidate{{Text: "bc", Start: cursor, End: cursor}},
			[]edit{{start: cursor - 1, end: cursor, text: "abc"}}},
		{"item: never past the cursor", closers, nil, itemEdits,
			[]infill.Candidate{{Text: ", b)", Start: cursor, End: cursor + 1}},
			[]edit{{start: cursor - 1, end: cursor, text: "a, b"}}},
		{"item: re-typed closers left in place", closers, nil, itemEdits,
			[]infill.Candidate{{Text: ",\n\t\tb)", Start: cursor, End: cursor}},
			[]edit{{start: cursor - 1, end: cursor, text: "a,\n\t\tb"}}},
		{"spans lines: dropped", closers, nil, inlineEdits, []infill.Candidate{{Text: "z", Start: cursor, End: cursor + 5}}, nil},
		{"no-op and duplicates dropped", closers, nil, inlineEdits, []infill.Candidate{
			{Text: ")", Start: cursor, End: cursor + 1},
			{Text: "q", Start: cursor, End: cursor},
			{Text: "q", Start: cursor, End: cursor},
		}, []edit{{start: cursor, end: cursor, text: "q"}}},
		{"out of range: dropped", closers, nil, inlineEdits, []infill.Candidate{{Text: "q", Start: -1, End: 2}, {Text: "q", Start: 3, End: 999}}, nil},
		// The popup item "abc" replaces "a"; the view is "\tx := foo(abc)".
		{"selected completion", closers, &selection{start: cursor - 1, end: cursor, text: "abc"}, inlineEdits,
			[]infill.Candidate{{Text: ", d)", Start: cursor + 2, End: cursor + 3}},
			[]edit{{start: cursor - 1, end: cursor + 1, text: "abc, d)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := document.New("file:///a.go", "go", 1, tt.text)
			r := &modelRequest{doc: doc, offset: cursor, sel: tt.sel}
			got := r.edits(tt.cands, tt.style)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(edit{})); diff != "" {
				t.Errorf("edits (-want +got):\n%s", diff)
			}
		})
	}
}
