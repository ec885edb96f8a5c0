package lsp_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/infill"
)

// relatedEngine records the cross-file chunks each completion request
// carries and answers nothing.
type relatedEngine struct {
	mu  sync.Mutex
	got [][]crossfile.Chunk
	min []float64
}

func (e *relatedEngine) Complete(_ context.Context, req infill.Request) (*infill.Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, req.Related)
	e.min = append(e.min, req.MinConfidence)
	return &infill.Result{}, nil
}

func (e *relatedEngine) FillHoles(context.Context, infill.HolesRequest) ([]infill.Edit, error) {
	return nil, nil
}

func (e *relatedEngine) last() ([]crossfile.Chunk, float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.got[len(e.got)-1], e.min[len(e.min)-1]
}

// TestCompletionCarriesRelatedChunks: other open documents of enabled
// languages and the regions edited in them reach the engine as cross-file
// context, the document itself and settings files never do, and closing a
// document forgets its chunks. The threshold setting goes with it.
func TestCompletionCarriesRelatedChunks(t *testing.T) {
	ctx := timeout(t)
	eng := &relatedEngine{}
	c := startReady(t, eng, quiet())
	const util = "package main\n\n// sum adds its arguments.\nfunc sum(a, b int) int {\n\treturn a + b\n}\n"
	const settingsJSON = "{\"editor.tabSize\": 4}\n"
	const main = "package main\n\nfunc main() {\n\t\n}\n"
	for _, d := range []struct{ uri, lang, text string }{
		{"file:///w/util.go", "go", util},
		{"file:///w/settings.json", "json", settingsJSON},
		{"file:///w/main.go", "go", main},
	} {
		if err := c.Open(ctx, d.uri, d.lang, d.text); err != nil {
			t.Fatal(err)
		}
	}
	complete := func() ([]crossfile.Chunk, float64) {
		t.Helper()
		if _, err := c.InlineCompletion(ctx, "file:///w/main.go", 3, 1, 1); err != nil {
			t.Fatal(err)
		}
		return eng.last()
	}
	got, minConf := complete()
	want := []crossfile.Chunk{{Path: "/w/util.go", StartLine: 0, Text: util}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("related chunks: got %+v, want %+v", got, want)
	}
	if minConf != infill.DefaultMinConfidence {
		t.Errorf("MinConfidence %v, want the default setting %v", minConf, infill.DefaultMinConfidence)
	}

	// An edit in util.go replaces its chunk with the region around the edit.
	if err := c.Change(ctx, "file:///w/util.go", 2, 4, 14, 4, 14, " * 2"); err != nil {
		t.Fatal(err)
	}
	edited := "package main\n\n// sum adds its arguments.\nfunc sum(a, b int) int {\n\treturn a + b * 2\n}\n"
	got, _ = complete()
	if len(got) != 1 || got[0].Text != edited || got[0].StartLine != 0 {
		t.Fatalf("after an edit: got %+v, want the edited text", got)
	}

	if err := c.Notify(ctx, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": "file:///w/util.go"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ = complete(); len(got) != 0 {
		t.Fatalf("after closing util.go: got %+v, want none", got)
	}
}
