package main

import (
	"fmt"
	"path/filepath"

	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// openModel opens the model every subcommand serves: dir when set (a Hugging
// Face model directory or cache snapshot), else the built-in model embedded in
// the binary. It returns the engine and a short name for logs and status.
func openModel(dir string, opts engine.Options) (*engine.Engine, string, error) {
	if dir == "" {
		eng, err := engine.OpenFS(builtin.FS(), opts)
		if err != nil {
			return nil, "", fmt.Errorf("open the built-in model %s: %w", builtin.Name(), err)
		}
		return eng, builtin.Name(), nil
	}
	eng, err := engine.Open(dir, opts)
	if err != nil {
		return nil, "", err
	}
	return eng, filepath.Base(filepath.Clean(dir)), nil
}
