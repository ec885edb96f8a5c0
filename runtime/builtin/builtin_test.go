package builtin_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// expect is testdata/expect.json, written by train/golden_builtin.py from the
// PyTorch model with the same (bf16) weights.
type expect struct {
	Cases []struct {
		Text        string `json:"text"`
		PlainIDs    []int  `json:"plain_ids"`
		Middle      string `json:"middle"`
		Canvas      []int  `json:"canvas"`
		MiddleStart int    `json:"middle_start"`
		MiddleIDs   []int  `json:"middle_ids"`
		TopLogits   []struct {
			Pos    int       `json:"pos"`
			IDs    []int     `json:"ids"`
			Logits []float64 `json:"logits"`
		} `json:"top_logits"`
		Steps        int    `json:"steps"`
		Alg          string `json:"alg"`
		Denoised     []int  `json:"denoised"`
		DenoisedText string `json:"denoised_text"`
	} `json:"cases"`
}

func loadExpect(t *testing.T) expect {
	t.Helper()
	data, err := os.ReadFile("testdata/expect.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expect
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("testdata/expect.json: %v", err)
	}
	if len(e.Cases) == 0 {
		t.Fatal("testdata/expect.json has no cases")
	}
	return e
}

// TestFiles checks the embedded directory's layout and the size limits
// (each file at most 16 MiB, the model at most 40 MB).
func TestFiles(t *testing.T) {
	fsys := builtin.FS()
	var total int64
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > 16<<20 {
			t.Errorf("%s is %d bytes, more than 16 MiB", path, info.Size())
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 40e6 {
		t.Errorf("model is %d bytes, more than 40 MB", total)
	}
	for _, f := range []string{"config.json", "generation_config.json", "tokenizer.json"} {
		if _, err := fs.Stat(fsys, f); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	var cfg struct {
		ModelType string `json:"model_type"`
	}
	data, err := fs.ReadFile(fsys, "config.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.ModelType != "Dream" {
		t.Fatalf("config.json model_type %q (%v), want Dream", cfg.ModelType, err)
	}
	if builtin.Name() == "" {
		t.Error("Name() is empty")
	}
}

func open(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.OpenFS(builtin.FS(), engine.Options{Threads: 2})
	if err != nil {
		t.Fatalf("OpenFS(builtin): %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestTokenizer checks the Go tokenizer against the training tokenizer on
// the recorded snippets (plain mode: "<|mask|>" in text stays text).
func TestTokenizer(t *testing.T) {
	e := open(t)
	tok := e.Tokenizer()
	cfg := e.Config()
	if id, ok := tok.TokenID("<|mask|>"); !ok || id != cfg.MaskTokenID {
		t.Fatalf("TokenID(<|mask|>) = %d, %v; config mask %d", id, ok, cfg.MaskTokenID)
	}
	if id, ok := tok.TokenID("<|endoftext|>"); !ok || id != cfg.EOSTokenID {
		t.Fatalf("TokenID(<|endoftext|>) = %d, %v; config eos %d", id, ok, cfg.EOSTokenID)
	}
	if tok.VocabSize() > cfg.VocabSize {
		t.Fatalf("tokenizer has %d ids, config vocab %d", tok.VocabSize(), cfg.VocabSize)
	}
	for i, c := range loadExpect(t).Cases {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.PlainIDs) {
			t.Errorf("case %d: Encode = %v\nwant %v", i, got, c.PlainIDs)
		}
		if s := tok.Decode(got); s != c.Text {
			t.Errorf("case %d: Decode(Encode) = %q, want %q", i, s, c.Text)
		}
	}
}

// TestForward compares the Go forward pass with PyTorch's shifted logits at
// the masked slots.
func TestForward(t *testing.T) {
	e := open(t)
	for i, c := range loadExpect(t).Cases {
		in := model.Input{IDs: c.Canvas}
		for _, tl := range c.TopLogits {
			in.Want = append(in.Want, tl.Pos)
		}
		out, err := e.Forward([]model.Input{in})
		if err != nil {
			t.Fatalf("case %d: Forward: %v", i, err)
		}
		worst := 0.0
		for j, tl := range c.TopLogits {
			row := out[0][j*e.Config().VocabSize : (j+1)*e.Config().VocabSize]
			for k, id := range tl.IDs {
				worst = math.Max(worst, math.Abs(float64(row[id])-tl.Logits[k]))
			}
		}
		if worst > 2e-2 {
			t.Errorf("case %d: logits differ from PyTorch by up to %.4f", i, worst)
		}
	}
}

// TestDenoise fills one masked line per snippet greedily (maskgit_plus,
// steps = masks) and expects PyTorch's tokens.
func TestDenoise(t *testing.T) {
	e := open(t)
	tok := e.Tokenizer()
	for i, c := range loadExpect(t).Cases {
		res, err := e.Denoise(context.Background(), denoise.Request{
			Canvases: [][]int{c.Canvas},
			Steps:    c.Steps,
			Sampler:  sampler.Options{Alg: sampler.Alg(c.Alg)},
		})
		if err != nil {
			t.Fatalf("case %d: Denoise: %v", i, err)
		}
		got := res.Canvases[0]
		if slices.Contains(got, e.Config().MaskTokenID) {
			t.Errorf("case %d: masks left after %d steps: %v", i, c.Steps, got)
		}
		mid := tok.DecodeSkipSpecial(got[c.MiddleStart : c.MiddleStart+len(c.MiddleIDs)])
		if !utf8.ValidString(mid) {
			t.Errorf("case %d: middle %q is not valid UTF-8", i, mid)
		}
		if !slices.Equal(got, c.Denoised) {
			t.Errorf("case %d: middle %q, PyTorch %q\ncanvas %v\nwant   %v", i, mid, c.DenoisedText, got, c.Denoised)
		}
		t.Logf("case %d: %q -> %q", i, c.Middle, mid)
	}
}
