// Package dreamontest assembles the tiny DreamOn-layout checkpoint for
// tests: the weights, config and added tokens (with "<|expand|>" = 151667)
// from runtime/denoise/testdata/tiny-dreamon, and Dream's real tokenizer
// files (vocab.json, merges.txt) from the shared golden tiny-qwen-vocab
// model, which are too large to copy into the repository.
package dreamontest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// Weights is the checkpoint directory relative to the repository root.
const Weights = "runtime/denoise/testdata/tiny-dreamon"

// Dir returns a temporary model directory (symbolic links) holding the
// tiny DreamOn model with a tokenizer. It skips t (fails it under CI)
// when the shared tree is missing.
func Dir(t testing.TB) string {
	t.Helper()
	tok := sharedpath.Path(t, "golden", "models", "tiny-qwen-vocab")
	root, err := sharedpath.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link := func(src, name string) {
		if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
			testenv.Missingf(t, "cannot symlink: %v", err)
		}
	}
	w := filepath.Join(root, Weights)
	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors", "added_tokens.json"} {
		link(w, f)
	}
	for _, f := range []string{"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		link(tok, f)
	}
	return dir
}

// Case is one reference run in the checkpoint's golden.json, written by
// bench/gpu/dreamon_ref.py.
type Case struct {
	InputIDs []int `json:"input_ids"`
	Options  struct {
		MaxNewTokens     int      `json:"max_new_tokens"`
		Alg              string   `json:"alg"`
		TopP             *float64 `json:"top_p"`
		PadDeleteToRight bool     `json:"pad_delete_to_right"`
		ExpandBudget     *int     `json:"expand_budget"`
		MaxIters         *int     `json:"max_iters"`
	} `json:"options"`
	Events struct {
		Expand, Delete int
		Cap            bool
	} `json:"events"`
	Output      []int `json:"output"`
	MiddleStart int   `json:"middle_start"`
	MiddleLen   int   `json:"middle_len"`
	Middle      []int `json:"middle"`
	Iterations  int   `json:"iterations"`
	MaxLength   int   `json:"max_length"`
	Trace       []struct {
		Window   int  `json:"window"`
		Blocked  bool `json:"blocked"`
		Deleted  []int
		Expanded []int
		Canvas   []int `json:"canvas"`
	} `json:"trace"`
}

// Golden returns the reference cases of the tiny DreamOn checkpoint; it
// fails t when the file is missing, malformed or holds none.
func Golden(t testing.TB) []Case {
	t.Helper()
	root, err := sharedpath.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, Weights, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []Case `json:"cases"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no cases")
	}
	return g.Cases
}
