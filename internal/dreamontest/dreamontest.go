// Package dreamontest assembles the tiny DreamOn-layout checkpoint for
// tests: the weights, config and added tokens (with "<|expand|>" = 151667)
// from runtime/denoise/testdata/tiny-dreamon, and Dream's real tokenizer
// files (vocab.json, merges.txt) from the shared golden tiny-qwen-vocab
// model, which are too large to copy into the repository.
package dreamontest

import (
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
