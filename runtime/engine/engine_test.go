package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// TestOpenQwenVocab opens the golden model that ships Dream's real
// tokenizer files and replays its first golden case through Denoise.
func TestOpenQwenVocab(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-qwen-vocab")
	e, err := engine.Open(dir, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cfg := e.Config()
	if cfg.MaskTokenID != 151666 || cfg.VocabSize != 152064 {
		t.Fatalf("config mask %d vocab %d", cfg.MaskTokenID, cfg.VocabSize)
	}
	tok := e.Tokenizer()
	if tok == nil {
		t.Fatal("no tokenizer")
	}
	if id, ok := tok.TokenID("<|mask|>"); !ok || id != cfg.MaskTokenID {
		t.Fatalf("tokenizer <|mask|> = %d, %v", id, ok)
	}
	// Dream's own tokenizer ends at 151666: no expand token.
	if id, ok := e.ExpandTokenID(); ok {
		t.Fatalf("ExpandTokenID = %d, true on a plain Dream tokenizer", id)
	}
	if g := e.GenerationConfig(); g.MaskTokenID != 151666 || g.Steps < 1 {
		t.Fatalf("generation config %+v", g)
	}

	var golden struct {
		Cases []struct {
			InputIDs  []int  `json:"input_ids"`
			Alg       string `json:"alg"`
			Steps     int    `json:"steps"`
			OutputIDs []int  `json:"output_ids"`
		} `json:"cases"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &golden); err != nil || len(golden.Cases) == 0 {
		t.Fatalf("golden.json: %v (%d cases)", err, len(golden.Cases))
	}
	c := golden.Cases[0]
	res, err := e.Denoise(context.Background(), denoise.Request{
		Canvases: [][]int{c.InputIDs},
		Steps:    c.Steps,
		Sampler:  sampler.Options{Alg: sampler.Alg(c.Alg)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Canvases[0], c.OutputIDs) {
		t.Fatalf("Denoise output\n got %v\nwant %v", res.Canvases[0], c.OutputIDs)
	}
	e.Close()
	if _, err := e.Denoise(context.Background(), denoise.Request{Canvases: [][]int{{1}}, Steps: 1}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Denoise after Close: %v, want ErrClosed", err)
	}
}

func TestOpenWithoutTokenizer(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-mha-sharded")
	e, err := engine.OpenFS(os.DirFS(dir), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Tokenizer() != nil {
		t.Fatal("tokenizer without tokenizer files")
	}
	if _, ok := e.ExpandTokenID(); ok {
		t.Fatal("expand token on a 512-token vocabulary")
	}
	out, err := e.Forward(nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("empty Forward: %v %v", out, err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := engine.Open(filepath.Join(t.TempDir(), "missing"), engine.Options{}); err == nil {
		t.Fatal("Open of a missing directory succeeded")
	}
	if _, err := engine.Open(t.TempDir(), engine.Options{}); err == nil {
		t.Fatal("Open of an empty directory succeeded")
	}
}

// TestExpandTokenDreamOn gives tiny-qwen-vocab a tokenizer that defines id
// 151667 (as DreamOn's does) and expects ExpandTokenID to report it.
func TestExpandTokenDreamOn(t *testing.T) {
	src := sharedpath.Path(t, "golden", "models", "tiny-qwen-vocab")
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		if ent.Name() == "added_tokens.json" {
			continue
		}
		if err := os.Symlink(filepath.Join(src, ent.Name()), filepath.Join(dir, ent.Name())); err != nil {
			testenv.Missingf(t, "cannot symlink: %v", err)
		}
	}
	data, err := os.ReadFile(filepath.Join(src, "added_tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var added map[string]int
	if err := json.Unmarshal(data, &added); err != nil {
		t.Fatal(err)
	}
	added["<|dreamon_extra|>"] = 151667
	data, _ = json.Marshal(added)
	if err := os.WriteFile(filepath.Join(dir, "added_tokens.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(dir, engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if id, ok := e.ExpandTokenID(); !ok || id != engine.DreamOnExpandTokenID {
		t.Fatalf("ExpandTokenID = %d, %v; want 151667, true (tokenizer size %d)", id, ok, e.Tokenizer().VocabSize())
	}
}
