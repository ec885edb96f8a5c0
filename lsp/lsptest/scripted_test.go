package lsptest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
)

// The scripted engine runs the real post-processing: the expected texts are
// written by hand from the raw middles, never taken from the code under test.
func TestScriptedRunsThePostProcessor(t *testing.T) {
	e, err := NewScripted(Script{Rules: []Rule{
		{Before: "\tif", Middle: " err != nil {\n\t\treturn err\n\t}"},
		{Before: "func check(err error) error {\n\t", Middle: "if err != nil {\n\t\treturn err\n\t}\n"},
		{Before: "    if", Middle: " err != nil {"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, doc, want string // doc marks the cursor with ┃
	}{
		{"tabs, after a keyword: single line, space kept", "package p\n\nfunc f(err error) error {\n\tif┃\n\treturn nil\n}\n", " err != nil {"},
		{"tabs, blank line: every line whole", "package p\n\nfunc check(err error) error {\n\t┃\n\treturn nil\n}\n", "if err != nil {\n\t\treturn err\n\t}"},
		{"spaces, after a keyword", "package p\n\nfunc f(err error) error {\n    if┃\n    return nil\n}\n", " err != nil {"},
		{"no rule: no text", "package p\n\nfunc f() {\n\tx┃\n}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := strings.Index(tc.doc, "┃")
			text := tc.doc[:i] + tc.doc[i+len("┃"):]
			res, err := e.Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: i, MaxTokens: 4})
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if len(res.Candidates) > 0 {
				got = res.Candidates[0].Text
			}
			if got != tc.want {
				t.Errorf("text = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadScriptedErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"bad.json":    "{",
		"empty.json":  `{"rules": []}`,
		"before.json": `{"rules": [{"before": "", "middle": "x"}]}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadScripted(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadScripted(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}
