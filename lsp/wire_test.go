package lsp_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
)

// The wire tests run the real infill path (span detection, canvases,
// post-processing, ranking) over a scripted model that writes a known raw
// middle, and compare the whole JSON item the client receives, and the
// buffer line(s) after applying it, with values written by hand. Texts
// carry the spaces, tabs and newlines users see: a regression that drops
// the space after a keyword, cuts a multi-line item to its first line or
// re-indents it fails here.

// wireGo is a tab-indented Go file. Cursors: after "return" (3:7), inside
// the auto-closed "add()" (7:10), on the empty line in the if block (9:2).
const wireGo = "package main\n\nfunc add(a, b int) int {\n\treturn\n}\n\nfunc main() {\n\tx := add()\n\tif x > 2 {\n\t\t\n\t}\n}\n"

// wirePy is a 4-space-indented Python file. Cursors: after "return"
// (1:10), after "are" (4:11), on the empty line in the for block (6:8).
const wirePy = "def area(w, h):\n    return\n\n\ndef main():\n    total = are\n    for i in range(3):\n        \n    print(total)\n"

// wireClient is what the client declares: inline completion, completion
// items without snippets, or completion items with snippets.
type wireClient int

const (
	inlineClient wireClient = iota
	plainClient
	snippetClient
)

func (w wireClient) caps() map[string]any {
	switch w {
	case inlineClient:
		return map[string]any{"textDocument": map[string]any{"inlineCompletion": map[string]any{}}}
	case snippetClient:
		return map[string]any{"textDocument": map[string]any{"completion": map[string]any{"completionItem": map[string]any{"snippetSupport": true}}}}
	}
	return map[string]any{"textDocument": map[string]any{"completion": map[string]any{"completionItem": map[string]any{"snippetSupport": false}}}}
}

func TestWireCompletionShapes(t *testing.T) {
	goRules := []lsptest.Rule{
		{Before: "\treturn", Middle: " a + b"},
		{Before: "x := add(", Middle: "1, 2)"},
		{Before: "if x > 2 {\n\t\t", Middle: "y := x * 2\n\t\tif y > 5 {\n\t\t\tprintln(\"$y\")\n\t\t}"},
	}
	pyRules := []lsptest.Rule{
		{Before: "    return", Middle: " w * h"},
		{Before: "total = are", Middle: "a(2, 3)"},
		{Before: "range(3):\n        ", Middle: "x = area(i, 2)\n        total += x"},
	}
	const cmd = `"command": {"title": "dream: accepted", "command": "dream.accept", "arguments": [{"id": "ID"}]}`
	tests := []struct {
		name       string
		uri, lang  string
		src        string
		rules      []lsptest.Rule
		client     wireClient
		line, char int
		want       string // the item, by hand
		wantLines  string // the lines from `line` on after applying it, by hand
	}{
		// Go, tabs.
		{"go after keyword, inline", "file:///w/main.go", "go", wireGo, goRules, inlineClient, 3, 7,
			`{"insertText": " a + b", "range": {"start": {"line": 3, "character": 7}, "end": {"line": 3, "character": 7}}, ` + cmd + `}`,
			"\treturn a + b\n}\n"},
		{"go after keyword, item", "file:///w/main.go", "go", wireGo, goRules, plainClient, 3, 7,
			`{"label": "return a + b", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "return a + b",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 3, "character": 1}, "end": {"line": 3, "character": 7}}, "newText": "return a + b"}, ` + cmd + `}`,
			"\treturn a + b\n}\n"},
		{"go after ( with auto-closed ), inline", "file:///w/main.go", "go", wireGo, goRules, inlineClient, 7, 10,
			// post-processing cuts the ")" the line already has: insert-only at the cursor.
			`{"insertText": "1, 2", "range": {"start": {"line": 7, "character": 10}, "end": {"line": 7, "character": 10}}, ` + cmd + `}`,
			"\tx := add(1, 2)\n\tif x > 2 {\n"},
		{"go after ( with auto-closed ), item", "file:///w/main.go", "go", wireGo, goRules, snippetClient, 7, 10,
			`{"label": "1, 2", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "1, 2",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 7, "character": 10}, "end": {"line": 7, "character": 10}}, "newText": "1, 2"}, ` + cmd + `}`,
			"\tx := add(1, 2)\n\tif x > 2 {\n"},
		{"go multi-line block, inline", "file:///w/main.go", "go", wireGo, goRules, inlineClient, 9, 2,
			`{"insertText": "y := x * 2\n\t\tif y > 5 {\n\t\t\tprintln(\"$y\")\n\t\t}", "range": {"start": {"line": 9, "character": 2}, "end": {"line": 9, "character": 2}}, ` + cmd + `}`,
			"\t\ty := x * 2\n\t\tif y > 5 {\n\t\t\tprintln(\"$y\")\n\t\t}\n\t}\n}\n"},
		{"go multi-line block, plain item: the whole text", "file:///w/main.go", "go", wireGo, goRules, plainClient, 9, 2,
			`{"label": "y := x * 2 …", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "y := x * 2",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 9, "character": 2}, "end": {"line": 9, "character": 2}}, "newText": "y := x * 2\n\t\tif y > 5 {\n\t\t\tprintln(\"$y\")\n\t\t}"}, ` + cmd + `}`,
			"\t\ty := x * 2\n\t\tif y > 5 {\n\t\t\tprintln(\"$y\")\n\t\t}\n\t}\n}\n"},
		// A snippet's later lines are relative to the cursor line's
		// indentation (adjustIndentation), as snippet engines insert them.
		{"go multi-line block, snippet item: $ and } escaped", "file:///w/main.go", "go", wireGo, goRules, snippetClient, 9, 2,
			`{"label": "y := x * 2 …", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "y := x * 2",
			"insertTextFormat": 2, "insertTextMode": 2,
			"textEdit": {"range": {"start": {"line": 9, "character": 2}, "end": {"line": 9, "character": 2}}, "newText": "y := x * 2\nif y > 5 {\n\tprintln(\"\\$y\")\n\\}"}, ` + cmd + `}`,
			"\t\ty := x * 2\n\t\tif y > 5 {\n\t\t\tprintln(\"$y\")\n\t\t}\n\t}\n}\n"},
		// Python, spaces.
		{"python after keyword, inline", "file:///w/area.py", "python", wirePy, pyRules, inlineClient, 1, 10,
			`{"insertText": " w * h", "range": {"start": {"line": 1, "character": 10}, "end": {"line": 1, "character": 10}}, ` + cmd + `}`,
			"    return w * h\n\n"},
		{"python after keyword, item", "file:///w/area.py", "python", wirePy, pyRules, snippetClient, 1, 10,
			`{"label": "return w * h", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "return w * h",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 10}}, "newText": "return w * h"}, ` + cmd + `}`,
			"    return w * h\n\n"},
		{"python mid-word, inline", "file:///w/area.py", "python", wirePy, pyRules, inlineClient, 5, 15,
			`{"insertText": "a(2, 3)", "range": {"start": {"line": 5, "character": 15}, "end": {"line": 5, "character": 15}}, ` + cmd + `}`,
			"    total = area(2, 3)\n"},
		{"python mid-word, item", "file:///w/area.py", "python", wirePy, pyRules, plainClient, 5, 15,
			`{"label": "area(2, 3)", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "area(2, 3)",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 5, "character": 12}, "end": {"line": 5, "character": 15}}, "newText": "area(2, 3)"}, ` + cmd + `}`,
			"    total = area(2, 3)\n"},
		{"python multi-line block, inline", "file:///w/area.py", "python", wirePy, pyRules, inlineClient, 7, 8,
			`{"insertText": "x = area(i, 2)\n        total += x", "range": {"start": {"line": 7, "character": 8}, "end": {"line": 7, "character": 8}}, ` + cmd + `}`,
			"        x = area(i, 2)\n        total += x\n    print(total)\n"},
		{"python multi-line block, plain item", "file:///w/area.py", "python", wirePy, pyRules, plainClient, 7, 8,
			`{"label": "x = area(i, 2) …", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "x = area(i, 2)",
			"insertTextFormat": 1, "insertTextMode": 1,
			"textEdit": {"range": {"start": {"line": 7, "character": 8}, "end": {"line": 7, "character": 8}}, "newText": "x = area(i, 2)\n        total += x"}, ` + cmd + `}`,
			"        x = area(i, 2)\n        total += x\n    print(total)\n"},
		{"python multi-line block, snippet item", "file:///w/area.py", "python", wirePy, pyRules, snippetClient, 7, 8,
			`{"label": "x = area(i, 2) …", "kind": 1, "detail": "dream", "sortText": "0", "filterText": "x = area(i, 2)",
			"insertTextFormat": 2, "insertTextMode": 2,
			"textEdit": {"range": {"start": {"line": 7, "character": 8}, "end": {"line": 7, "character": 8}}, "newText": "x = area(i, 2)\ntotal += x"}, ` + cmd + `}`,
			"        x = area(i, 2)\n        total += x\n    print(total)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := timeout(t)
			eng, err := lsptest.NewScripted(lsptest.Script{Rules: tt.rules})
			if err != nil {
				t.Fatal(err)
			}
			c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(eng), Settings: quiet(), Version: "test"})
			if _, err := c.Initialize(ctx, tt.client.caps(), nil); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Open(ctx, tt.uri, tt.lang, tt.src); err != nil {
				t.Fatal(err)
			}
			method := "textDocument/completion"
			if tt.client == inlineClient {
				method = "textDocument/inlineCompletion"
			}
			var res struct {
				Items []json.RawMessage `json:"items"`
			}
			err = c.Call(ctx, method, map[string]any{
				"textDocument": map[string]any{"uri": tt.uri},
				"position":     map[string]any{"line": tt.line, "character": tt.char},
				"context":      map[string]any{"triggerKind": 1},
			}, &res)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Items) != 1 {
				t.Fatalf("%s: %d items, want 1: %s", method, len(res.Items), res.Items)
			}
			var got, want map[string]any
			if err := json.Unmarshal(res.Items[0], &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatalf("expected JSON: %v", err)
			}
			if id, ok := acceptID(got); !ok || !strings.HasPrefix(id, "d-") {
				t.Errorf("command arguments carry no item id: %s", res.Items[0])
			} else {
				setAcceptID(got, "ID")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("item (-want +got):\n%s", diff)
			}
			// What the user sees after accepting: the edit applied to the buffer.
			after, err := applyWireItem(tt.src, got)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(after, "\n")
			if tail := strings.Join(lines[tt.line:], ""); !strings.HasPrefix(tail, tt.wantLines) {
				t.Errorf("buffer from line %d after accepting:\n%q\nwant it to start with\n%q", tt.line, tail, tt.wantLines)
			}
		})
	}
}

func acceptID(item map[string]any) (string, bool) {
	cmd, _ := item["command"].(map[string]any)
	args, _ := cmd["arguments"].([]any)
	if len(args) != 1 {
		return "", false
	}
	arg, _ := args[0].(map[string]any)
	id, ok := arg["id"].(string)
	return id, ok
}

func setAcceptID(item map[string]any, id string) {
	item["command"].(map[string]any)["arguments"].([]any)[0].(map[string]any)["id"] = id
}

// applyWireItem applies an inline completion item or a completion item's
// textEdit to src as a client does: the range (UTF-16 columns, ASCII here)
// replaced by the text, a snippet's escapes (\$ \} \\) undone, and under
// insertTextMode adjustIndentation the cursor line's indentation put before
// every later line.
func applyWireItem(src string, item map[string]any) (string, error) {
	b, _ := json.Marshal(item)
	var it struct {
		InsertText       *string `json:"insertText"`
		InsertTextFormat int     `json:"insertTextFormat"`
		InsertTextMode   int     `json:"insertTextMode"`
		Range            *wireRange
		TextEdit         *struct {
			Range   wireRange `json:"range"`
			NewText string    `json:"newText"`
		} `json:"textEdit"`
	}
	if err := json.Unmarshal(b, &it); err != nil {
		return "", err
	}
	var rng wireRange
	var text string
	switch {
	case it.TextEdit != nil:
		rng, text = it.TextEdit.Range, it.TextEdit.NewText
	case it.InsertText != nil && it.Range != nil:
		rng, text = *it.Range, *it.InsertText
	default:
		return "", fmt.Errorf("item has neither textEdit nor insertText+range: %s", b)
	}
	if it.InsertTextFormat == 2 {
		var u strings.Builder
		for i := 0; i < len(text); i++ {
			if text[i] == '\\' && i+1 < len(text) {
				i++
			}
			u.WriteByte(text[i])
		}
		text = u.String()
	}
	start, err := wireOffset(src, rng.Start.Line, rng.Start.Character)
	if err != nil {
		return "", err
	}
	end, err := wireOffset(src, rng.End.Line, rng.End.Character)
	if err != nil {
		return "", err
	}
	if it.InsertTextMode == 2 {
		// adjustIndentation: later lines get the cursor line's indentation.
		ls := strings.LastIndexByte(src[:start], '\n') + 1
		indent := src[ls:]
		indent = indent[:len(indent)-len(strings.TrimLeft(indent, " \t"))]
		text = strings.ReplaceAll(text, "\n", "\n"+indent)
	}
	return src[:start] + text + src[end:], nil
}

type wireRange struct {
	Start struct{ Line, Character int } `json:"start"`
	End   struct{ Line, Character int } `json:"end"`
}

func wireOffset(src string, line, char int) (int, error) {
	off := 0
	for range line {
		i := strings.IndexByte(src[off:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d past the end", line)
		}
		off += i + 1
	}
	if off+char > len(src) {
		return 0, fmt.Errorf("%d:%d past the end", line, char)
	}
	return off + char, nil
}

// TestWireFillHoles checks the workspace/applyEdit a fill-holes command
// sends through the real infill path: one edit per hole, the marker's range
// and the whole text (a multi-line hole keeps its newline and tabs), by
// hand, and the document after applying it.
func TestWireFillHoles(t *testing.T) {
	const src = "package main\n\nfunc area(w, h int) int {\n\treturn /* fill */\n}\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\t/* fill */\n\t}\n}\n"
	eng, err := lsptest.NewScripted(lsptest.Script{Rules: []lsptest.Rule{
		{Before: "\treturn ", Middle: "w * h"},
		{Before: "i++ {\n\t\t", Middle: "x := area(i, 2)\n\t\tprintln(x)"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := timeout(t)
	c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(eng), Settings: quiet(), Version: "test"})
	if _, err := c.Initialize(ctx, map[string]any{"workspace": map[string]any{"applyEdit": true}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Open(ctx, goURI, "go", src); err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	err = c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandFillHoles,
		"arguments": []any{map[string]any{"uri": goURI}}}, &res)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"applied": true, "edits": float64(2)}, res); diff != "" {
		t.Errorf("command result (-want +got):\n%s", diff)
	}
	edits := c.Edits()
	if len(edits) != 1 {
		t.Fatalf("%d workspace/applyEdit requests, want 1", len(edits))
	}
	const want = `{"label": "dream: fill holes", "edit": {"changes": {"file:///w/main.go": [
		{"range": {"start": {"line": 3, "character": 8}, "end": {"line": 3, "character": 18}}, "newText": "w * h"},
		{"range": {"start": {"line": 8, "character": 2}, "end": {"line": 8, "character": 12}}, "newText": "x := area(i, 2)\n\t\tprintln(x)"}]}}}`
	var got, wantV map[string]any
	if err := json.Unmarshal(edits[0], &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		t.Fatalf("expected JSON: %v", err)
	}
	if diff := cmp.Diff(wantV, got); diff != "" {
		t.Fatalf("applyEdit params (-want +got):\n%s", diff)
	}
	// Applied last edit first, as the ranges refer to the original text.
	after := src
	changes := got["edit"].(map[string]any)["changes"].(map[string]any)[goURI].([]any)
	for i := len(changes) - 1; i >= 0; i-- {
		e := changes[i].(map[string]any)
		if after, err = applyWireItem(after, map[string]any{"textEdit": e}); err != nil {
			t.Fatal(err)
		}
	}
	const wantText = "package main\n\nfunc area(w, h int) int {\n\treturn w * h\n}\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tx := area(i, 2)\n\t\tprintln(x)\n\t}\n}\n"
	if after != wantText {
		t.Errorf("document after the edit:\n%q\nwant\n%q", after, wantText)
	}
}
