// Package builtin embeds dream-lsp's built-in model: a small Dream-architecture
// code model trained by the project (train/, docs/MODEL.md) and stored in the
// Hugging Face layout (config.json, generation_config.json, tokenizer.json,
// safetensors). runtime/engine opens it with engine.OpenFS(builtin.FS(), ...),
// so `dream-lsp` works with no --model flag and no download.
package builtin

import (
	"embed"
	"io/fs"
)

// modelFiles holds the model directory. Every file is at most 16 MiB.
//
//go:embed model
var modelFiles embed.FS

// name identifies the shipped checkpoint in status messages and logs; change it
// whenever runtime/builtin/model is replaced (docs/MODEL.md says which run).
const name = "dream-lsp-builtin-cpu-v3"

// FS returns the embedded model directory, rooted so that config.json is at
// its top level.
func FS() fs.FS {
	sub, err := fs.Sub(modelFiles, "model")
	if err != nil {
		// fs.Sub fails only for an invalid path literal; "model" is valid.
		panic("builtin: " + err.Error())
	}
	return sub
}

// Name returns the built-in model's name, e.g. "dream-lsp-builtin-cpu-v3".
func Name() string { return name }
