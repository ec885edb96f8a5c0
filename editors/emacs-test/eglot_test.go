// Package emacstest drives a second LSP client this project did not write, Emacs with eglot (both from
// Debian: emacs-nox, elpa-eglot), against dream-lsp's scripted test engine, and checks the buffer after
// completion-at-point byte for byte against text written here by hand.
package emacstest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/editortest"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// original is the file the steps edit (tab-indented, as gofmt writes Go).
const original = `package main

import "fmt"

func check(err error) error {
	if
		return err
	}
	return nil
}

func pick(err error) error {
	
	return nil
}
`

// rule is one answer of the server's scripted engine (lsp/lsptest.Rule, DREAM_LSP_TEST_ENGINE=scripted:FILE).
type rule struct {
	Before string `json:"before"`
	Middle string `json:"middle"`
}

// script is what the fake model writes, keyed by the text before the cursor: raw middles with the
// space after a keyword, tabs and several lines.
var script = map[string][]rule{"rules": {
	{Before: "check(err error) error {\n\tif", Middle: " err != nil {\n\t\treturn err\n\t}\n"},
	{Before: "pick(err error) error {\n\t", Middle: "if err != nil {\n\t\treturn fmt.Errorf(\"pick ${1}: %w\\n\", err)\n\t}\n"},
}}

// steps run in order; each puts point at the end of line (1-based) and runs completion-at-point.
// want is the whole file afterwards.
var steps = []struct {
	name string
	line int
	want string
}{
	{"multi-line item on a blank line", 13, `package main

import "fmt"

func check(err error) error {
	if
		return err
	}
	return nil
}

func pick(err error) error {
	if err != nil {
		return fmt.Errorf("pick ${1}: %w\n", err)
	}
	return nil
}
`},
	{"single line after `if`", 6, `package main

import "fmt"

func check(err error) error {
	if err != nil {
		return err
	}
	return nil
}

func pick(err error) error {
	if err != nil {
		return fmt.Errorf("pick ${1}: %w\n", err)
	}
	return nil
}
`},
}

func TestEglotCompletionAtPoint(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end editor test skipped in -short mode")
	}
	emacs, err := exec.LookPath("emacs")
	if err != nil {
		testenv.Missing(t, "no emacs: apt-get install emacs-nox elpa-eglot (.ci/run installs them)")
	}
	if m, _ := filepath.Glob("/usr/share/emacs/site-lisp/elpa/eglot-*"); len(m) == 0 {
		testenv.Missing(t, "no Debian eglot in /usr/share/emacs/site-lisp/elpa: apt-get install elpa-eglot")
	}
	bin := editortest.BuildServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(script)
	if err != nil {
		t.Fatal(err)
	}
	scriptFile := filepath.Join(dir, "script.json")
	if err := os.WriteFile(scriptFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range steps {
		lines = append(lines, strconv.Itoa(s.line))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, emacs, "--batch", "-Q", "-l", "eglot-e2e.el")
	home := filepath.Join(dir, "home")
	cmd.Env = append(os.Environ(), "HOME="+home, "DREAM_LSP_BIN="+bin, "DREAM_LSP_TEST_ENGINE=scripted:"+scriptFile,
		"DREAM_EGLOT_FILE="+file, "DREAM_EGLOT_LINES="+strings.Join(lines, " "), "DREAM_EGLOT_OUT="+out)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	t.Logf("emacs --batch (%.1f s):\n%s", time.Since(start).Seconds(), log.String())
	if ctx.Err() != nil {
		t.Fatal("emacs timed out")
	}
	if err != nil {
		t.Fatalf("emacs: %v", err)
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(out, strconv.Itoa(i)+".txt"))
			if err != nil {
				t.Fatalf("no buffer written for this step: %v", err)
			}
			if string(got) != s.want {
				t.Errorf("buffer after completion-at-point:\n%s\nwant:\n%s\n(quoted: got %q\nwant %q)", got, s.want, got, s.want)
			}
		})
	}
}
