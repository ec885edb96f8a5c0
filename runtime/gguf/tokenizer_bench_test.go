package gguf_test

import (
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/gguf"
)

// BenchmarkTokenizer builds the embedded tokenizer of a GGUF file with
// Dream's full vocabulary (151,665 tokens, 151,387 merges): the cost it
// adds to opening a GGUF model, in time and heap bytes.
func BenchmarkTokenizer(b *testing.B) {
	path := convert(b, sharedpath.Path(b, "golden", "models", "tiny-qwen-vocab"), "f32")
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	for b.Loop() {
		tok, err := f.Tokenizer()
		if err != nil || tok == nil {
			b.Fatalf("Tokenizer: %v %v", tok, err)
		}
	}
}
