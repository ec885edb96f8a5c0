package engine

import (
	"fmt"
	"time"

	"github.com/dream-lsp/dream-lsp/runtime/gguf"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// openGGUF opens a Dream GGUF file (llama.cpp's arch "dream"): config from
// its hyperparameters, weights from the mapped file (in place under auto),
// the embedded tokenizer, Dream's default generation settings.
func openGGUF(path string, opts Options) (*Engine, error) {
	start := time.Now()
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("engine: open %s: %w", path, err)
	}
	cfg, err := f.DreamConfig()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: open %s: %w", path, err)
	}
	tok, err := f.Tokenizer()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: open %s: %w", path, err)
	}
	return build(cfg, model.DefaultGenerationConfig(), f.Source(), f, tok, path, start, opts)
}
