package lsp_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
)

// fixedEngine answers every completion with one candidate: text inserted at
// the cursor, replacing the swallow bytes after it.
type fixedEngine struct {
	text    string
	swallow int
	calls   int
}

func (f *fixedEngine) Complete(_ context.Context, req infill.Request) (*infill.Result, error) {
	f.calls++
	return &infill.Result{Candidates: []infill.Candidate{{Text: f.text, Start: req.Offset, End: req.Offset + f.swallow, Score: 1, Parses: true}}}, nil
}

func (f *fixedEngine) FillHoles(context.Context, infill.HolesRequest) ([]infill.Edit, error) {
	return nil, nil
}

// startWithCaps starts a server with engine and opts for a client declaring
// capabilities, and waits until it is ready.
func startWithCaps(t *testing.T, engine lsp.Engine, opts settings.Options, caps any) *lsptest.Client {
	t.Helper()
	return startOptions(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(engine), Settings: opts, Version: "test"}, caps)
}

func snippetCaps(on bool) map[string]any {
	return map[string]any{"textDocument": map[string]any{"completion": map[string]any{"completionItem": map[string]any{"snippetSupport": on}}}}
}

// TestCompletionItemWireShape checks the whole completion item a client
// receives, for single- and multi-line texts, with and without snippet
// support. The expected JSON is written by hand.
func TestCompletionItemWireShape(t *testing.T) {
	// Line 3 is "\tfmt.Pri)" (the editor auto-closed the paren; cursor
	// before it, column 8) or "\tx := ma" (cursor at the end, column 8).
	const single = "package main\n\nfunc main() {\n\tfmt.Pri)\n}\n"
	const multi = "package main\n\nfunc main() {\n\tx := ma\n}\n"
	tests := []struct {
		name     string
		text     string
		engine   *fixedEngine
		snippets bool
		want     string
	}{
		{"single line, plain", single, &fixedEngine{text: `ntln("hi")`, swallow: 1}, false, `{
			"label": "Println(\"hi\"", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "Println(\"hi\"",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 3, "character": 5}, "end": {"line": 3, "character": 8}}, "newText": "Println(\"hi\""},
			"command": {"title": "dream: accepted", "command": "dream.accept", "arguments": [{"id": "d-1"}]}}`},
		{"single line, client with snippets: still plain", single, &fixedEngine{text: `ntln("$x")`, swallow: 1}, true, `{
			"label": "Println(\"$x\"", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "Println(\"$x\"",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 3, "character": 5}, "end": {"line": 3, "character": 8}}, "newText": "Println(\"$x\""},
			"command": {"title": "dream: accepted", "command": "dream.accept", "arguments": [{"id": "d-1"}]}}`},
		{"multi-line, plain", multi, &fixedEngine{text: "p(\"$x\")\n\ty := `a\\b`\n}"}, false, `{
			"label": "map(\"$x\") …", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "map(\"$x\")",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 3, "character": 6}, "end": {"line": 3, "character": 8}}, "newText": "map(\"$x\")\n\ty := ` + "`a\\\\b`" + `\n}"},
			"command": {"title": "dream: accepted", "command": "dream.accept", "arguments": [{"id": "d-1"}]}}`},
		{"multi-line, snippet with $ } \\ escaped", multi, &fixedEngine{text: "p(\"$x\")\n\ty := `a\\b`\n}"}, true, `{
			"label": "map(\"$x\") …", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "map(\"$x\")",
			"insertTextFormat": 2, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 3, "character": 6}, "end": {"line": 3, "character": 8}}, "newText": "map(\"\\$x\")\n\ty := ` + "`a\\\\\\\\b`" + `\n\\}"},
			"command": {"title": "dream: accepted", "command": "dream.accept", "arguments": [{"id": "d-1"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := timeout(t)
			c := startWithCaps(t, tt.engine, quiet(), snippetCaps(tt.snippets))
			if err := c.Open(ctx, goURI, "go", tt.text); err != nil {
				t.Fatal(err)
			}
			var list struct {
				IsIncomplete bool              `json:"isIncomplete"`
				Items        []json.RawMessage `json:"items"`
			}
			err := c.Call(ctx, "textDocument/completion", map[string]any{
				"textDocument": map[string]any{"uri": goURI}, "position": map[string]any{"line": 3, "character": 8},
				"context": map[string]any{"triggerKind": 1},
			}, &list)
			if err != nil || !list.IsIncomplete || len(list.Items) != 1 {
				t.Fatalf("completion: %+v, %v", list, err)
			}
			var got, want any
			if err := json.Unmarshal(list.Items[0], &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatalf("expected JSON: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("item (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCompletionOnlyWhereNoInlineCompletion checks that a keystroke costs one
// model pass: a client with inline completion gets completion items (and a
// model run) only when it asks explicitly (triggerKind Invoked), at once and
// as a complete list; typing (trigger characters, re-requests of an
// incomplete list) gets an empty list without the model.
func TestCompletionOnlyWhereNoInlineCompletion(t *testing.T) {
	inline := map[string]any{"textDocument": map[string]any{"inlineCompletion": map[string]any{}}}
	slow := quiet()
	slow.DebounceMs = 5000 // an explicit request must not wait for it
	manual := quiet()
	manual.TriggerMode = "manual"
	tests := []struct {
		name           string
		caps           any
		opts           settings.Options
		kind           int // CompletionTriggerKind
		wantItems      bool
		wantIncomplete bool
	}{
		{"no inline completion: answered, incomplete", map[string]any{}, quiet(), 1, true, true},
		{"inline completion, invoked: answered at once, complete", inline, slow, 1, true, false},
		{"inline completion, trigger character: empty", inline, quiet(), 2, false, false},
		{"inline completion, re-request while typing: empty", inline, quiet(), 3, false, false},
		{"inline completion, manual mode, invoked: answered", inline, manual, 1, true, false},
		{"no inline completion, manual mode, trigger character: empty", map[string]any{}, manual, 2, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := timeout(t)
			eng := &lsptest.Echo{}
			c := startWithCaps(t, eng, tt.opts, tt.caps)
			if err := c.Open(ctx, goURI, "go", "package main\n\nvar abc = ab\n"); err != nil {
				t.Fatal(err)
			}
			var list struct {
				IsIncomplete bool              `json:"isIncomplete"`
				Items        []json.RawMessage `json:"items"`
			}
			start := time.Now()
			err := c.Call(ctx, "textDocument/completion", map[string]any{
				"textDocument": map[string]any{"uri": goURI}, "position": map[string]any{"line": 2, "character": 12},
				"context": map[string]any{"triggerKind": tt.kind},
			}, &list)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(list.Items) > 0; got != tt.wantItems {
				t.Errorf("items: %d, want some: %v", len(list.Items), tt.wantItems)
			}
			if list.IsIncomplete != tt.wantIncomplete {
				t.Errorf("isIncomplete %v, want %v", list.IsIncomplete, tt.wantIncomplete)
			}
			if !tt.wantItems && eng.Calls() != 0 {
				t.Errorf("the model ran %d times for a refused completion", eng.Calls())
			}
			if took := time.Since(start); tt.opts.DebounceMs == 5000 && took > 4*time.Second {
				t.Errorf("an explicit request took %v: it waited for the debounce", took)
			}
		})
	}
}

// TestInvokedSkipsDebounce: an explicit request does not wait for the
// debounce an automatic one waits for.
func TestInvokedSkipsDebounce(t *testing.T) {
	ctx := timeout(t)
	opts := quiet()
	opts.DebounceMs = 5000
	c := startReady(t, &lsptest.Echo{}, opts)
	if err := c.Open(ctx, goURI, "go", "package main\n\nvar abc = ab\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	items, err := c.InlineCompletion(ctx, goURI, 2, 12, 1)
	if err != nil || len(items) == 0 {
		t.Fatalf("invoked: %+v, %v", items, err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("invoked request took %v: it waited for the 5 s debounce", took)
	}
}

// TestBackoffAfterIgnoredSuggestions: after five automatic suggestions in a
// row passed over, the next automatic request waits twice the debounce; an
// acceptance brings it back.
func TestBackoffAfterIgnoredSuggestions(t *testing.T) {
	ctx := timeout(t)
	const debounce = 150 * time.Millisecond
	opts := quiet()
	opts.DebounceMs = int(debounce / time.Millisecond)
	c := startReady(t, &lsptest.Echo{}, opts)
	text := "package main\n\nvar a = b\nvar c = d\nvar e = f\nvar g = h\nvar i = j\nvar k = l\nvar m = n\nvar o = p\n"
	if err := c.Open(ctx, goURI, "go", text); err != nil {
		t.Fatal(err)
	}
	ask := func(line int) (lsptest.InlineItem, time.Duration) {
		t.Helper()
		start := time.Now()
		items, err := c.InlineCompletion(ctx, goURI, line, 9, 2)
		if err != nil || len(items) != 1 {
			t.Fatalf("line %d: %+v, %v", line, items, err)
		}
		return items[0], time.Since(start)
	}
	// Six suggestions, each passed over by the next request elsewhere: the
	// sixth request judges the fifth ignored suggestion and backs off.
	var last lsptest.InlineItem
	for line := 2; line <= 6; line++ {
		last, _ = ask(line)
	}
	if _, took := ask(7); took < 2*debounce {
		t.Errorf("after five ignored suggestions the request took %v, want at least %v", took, 2*debounce)
	}
	// Accepting resets the backoff: the next request waits one debounce
	// (far less than the eight the backoff would reach by now).
	last, _ = ask(8)
	if err := c.Call(ctx, "workspace/executeCommand", last.Command, nil); err != nil {
		t.Fatal(err)
	}
	if _, took := ask(9); took >= 4*debounce {
		t.Errorf("after an acceptance the request took %v, want about %v", took, debounce)
	}
}
