package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
)

func joinIDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}

// TestDebugDenoiseGoldenTrace runs `debug denoise --trace` on a golden
// case and compares the printed trace.
func TestDebugDenoiseGoldenTrace(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-mha-sharded")
	c := goldentest.ReadGenerate(t, dir, 2)[1]
	var stdout, stderr bytes.Buffer
	code := mainExit([]string{"debug", "denoise", "--model", dir, "--ids", joinIDs(c.InputIDs),
		"--steps", fmt.Sprint(c.Steps), "--alg", c.Alg, "--temperature", "0", "--trace"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out struct {
		Steps  int     `json:"steps"`
		Trace  [][]int `json:"trace"`
		Output []int   `json:"output"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout.String())
	}
	if out.Steps != c.Steps || len(out.Trace) != len(c.Trace) {
		t.Fatalf("steps %d, %d trace rows; want %d", out.Steps, len(out.Trace), c.Steps)
	}
	for i := range c.Trace {
		if !slices.Equal(out.Trace[i], c.Trace[i]) {
			t.Fatalf("step %d: got %v, want %v", i, out.Trace[i], c.Trace[i])
		}
	}
	if !slices.Equal(out.Output, c.Trace[len(c.Trace)-1]) {
		t.Fatalf("output %v", out.Output)
	}
}

func TestDebugForward(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	var stdout, stderr bytes.Buffer
	code := mainExit([]string{"debug", "forward", "--model", dir, "--ids", "5,6,mask,7", "--positions", "2,0"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out struct {
		VocabSize int   `json:"vocab_size"`
		IDs       []int `json:"ids"`
		Rows      []struct {
			Position int       `json:"position"`
			Logits   []float32 `json:"logits"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.VocabSize != 300 || !slices.Equal(out.IDs, []int{5, 6, 299, 7}) || len(out.Rows) != 2 ||
		out.Rows[0].Position != 2 || len(out.Rows[0].Logits) != 300 {
		t.Fatalf("unexpected output: %s", stdout.String())
	}
	for _, bad := range [][]string{
		{"debug", "forward", "--model", dir},
		{"debug", "forward", "--model", dir, "--ids", "1,x"},
		{"debug", "forward", "--model", dir, "--ids", "1,2", "--positions", "5"},
		{"debug", "denoise", "--model", dir, "--ids", "1,mask", "--alg", "bogus", "--steps", "2"},
	} {
		stdout.Reset()
		if code := mainExit(bad, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", bad, code)
		}
	}
}
