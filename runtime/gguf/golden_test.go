package gguf_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/gguf"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
)

// convert writes dir as a GGUF file of the given type with
// testdata/hf2gguf.py (an independent writer in Python, laid out as
// llama.cpp's converter writes arch "dream").
func convert(t testing.TB, dir, typ string) string {
	t.Helper()
	py := pythonWithNumpy()
	if py == "" {
		testenv.Missing(t, "a python3 with numpy converts the golden models to GGUF (apt-get install python3-numpy; tried python3 on PATH and /usr/bin/python3)")
	}
	out := filepath.Join(t.TempDir(), filepath.Base(dir)+"-"+typ+".gguf")
	cmd := exec.Command(py, "testdata/hf2gguf.py", dir, out, "--type", typ)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hf2gguf.py %s --type %s: %v\n%s", dir, typ, err, b)
	}
	return out
}

// pythonWithNumpy returns the first python3 that imports numpy: the one on
// PATH (which may be a pyenv or venv interpreter without it), then Debian's
// /usr/bin/python3, where .ci/run installs python3-numpy. "" if none.
func pythonWithNumpy() string {
	pyOnce.Do(func() {
		var cands []string
		if p, err := exec.LookPath("python3"); err == nil {
			cands = append(cands, p)
		}
		cands = append(cands, "/usr/bin/python3")
		for _, p := range cands {
			if exec.Command(p, "-c", "import numpy").Run() == nil {
				pyPath = p
				return
			}
		}
	})
	return pyPath
}

var (
	pyOnce sync.Once
	pyPath string
)

type golden struct {
	Generate []struct {
		InputIDs  []int   `json:"input_ids"`
		Alg       string  `json:"alg"`
		Steps     int     `json:"steps"`
		Eps       float64 `json:"eps"`
		Trace     [][]int `json:"trace"`
		OutputIDs []int   `json:"output_ids"`
	} `json:"generate"`
	Cases []struct {
		InputIDs  []int  `json:"input_ids"`
		Alg       string `json:"alg"`
		Steps     int    `json:"steps"`
		OutputIDs []int  `json:"output_ids"`
	} `json:"cases"`
}

// TestGoldenGGUF converts every golden model to GGUF at F32, BF16 and
// Q8_0 and loads it: F32 and BF16 (lossless from the bf16 checkpoints)
// must give the safetensors model's logits bit for bit and the golden
// greedy traces exactly; Q8_0 must give, bit for bit, the logits of the
// safetensors model quantized at load (--weights q8_0), which proves the
// Python and Go quantizers byte-identical where every row is a multiple
// of 32 (tiny-gqa, tiny-mha-sharded).
func TestGoldenGGUF(t *testing.T) {
	root := sharedpath.Path(t, "golden", "models")
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded"} {
		dir := filepath.Join(root, name)
		var g golden
		data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &g); err != nil || len(g.Generate) == 0 {
			t.Fatalf("%s golden.json: %v", name, err)
		}
		cfg, ck, err := model.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ck.Close()
		for _, typ := range []string{"f32", "bf16", "q8_0"} {
			t.Run(name+"/"+typ, func(t *testing.T) {
				path := convert(t, dir, typ)
				f, err := gguf.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				gcfg, err := f.DreamConfig()
				if err != nil {
					t.Fatal(err)
				}
				if !equalConfig(gcfg, cfg) {
					t.Fatalf("config from GGUF\n%+v\nwant\n%+v", gcfg, cfg)
				}
				held := quant.Allocated()
				m, err := model.LoadWith(gcfg, f.Source(), cpu.New(2), model.LoadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				// Under auto every type is used from the mapping as stored
				// (Q8_0 blocks are ggml's block_q8_0, the kernels' layout):
				// nothing is converted or copied off the heap.
				if d := quant.Allocated() - held; d != 0 || !m.UsesSourceMemory() {
					t.Fatalf("%s under auto: %d bytes converted, in place %v; want 0 and true", typ, d, m.UsesSourceMemory())
				}
				refMode := model.WeightsF32
				if typ == "q8_0" {
					refMode = model.WeightsQ8_0
				}
				ref, err := model.LoadWith(cfg, model.CheckpointSource(ck), cpu.New(2), model.LoadOptions{Weights: refMode})
				if err != nil {
					t.Fatal(err)
				}
				defer ref.Close()
				for _, c := range g.Generate {
					in := []model.Input{{IDs: c.InputIDs, Want: []int{0, len(c.InputIDs) / 2, len(c.InputIDs) - 1}}}
					a, err := m.Forward(in)
					if err != nil {
						t.Fatal(err)
					}
					b, err := ref.Forward(in)
					if err != nil {
						t.Fatal(err)
					}
					for i := range a[0] {
						if math.Float32bits(a[0][i]) != math.Float32bits(b[0][i]) {
							t.Fatalf("logit %d: GGUF %g, safetensors (%s) %g", i, a[0][i], refMode, b[0][i])
						}
					}
				}
				if typ == "q8_0" {
					return
				}
				for n, c := range g.Generate {
					var trace [][]int
					res, err := denoise.Run(context.Background(), m, denoise.Request{
						Canvases: [][]int{c.InputIDs}, Steps: c.Steps,
						Sampler: sampler.Options{Alg: sampler.Alg(c.Alg), Eps: c.Eps},
						OnStep:  func(_ int, cv [][]int) { trace = append(trace, slices.Clone(cv[0])) },
					})
					if err != nil {
						t.Fatal(err)
					}
					for i := range min(len(trace), len(c.Trace)) {
						if !slices.Equal(trace[i], c.Trace[i]) {
							t.Fatalf("case %d step %d:\n got %v\nwant %v", n, i, trace[i], c.Trace[i])
						}
					}
					if !slices.Equal(res.Canvases[0], c.OutputIDs) {
						t.Fatalf("case %d output differs", n)
					}
				}
			})
		}
	}
}

// equalConfig compares the fields that change the computation and the
// special ids (GGUF stores θ and ε as float32).
func equalConfig(a, b model.Config) bool {
	return a.HiddenSize == b.HiddenSize && a.IntermediateSize == b.IntermediateSize && a.NumLayers == b.NumLayers &&
		a.NumHeads == b.NumHeads && a.NumKVHeads == b.NumKVHeads && a.HeadDim == b.HeadDim && a.VocabSize == b.VocabSize &&
		float32(a.RopeTheta) == float32(b.RopeTheta) && float32(a.RMSNormEps) == float32(b.RMSNormEps) &&
		a.MaxPositionEmbeddings == b.MaxPositionEmbeddings && a.TieWordEmbeddings == b.TieWordEmbeddings &&
		a.MaskTokenID == b.MaskTokenID && a.BOSTokenID == b.BOSTokenID && a.EOSTokenID == b.EOSTokenID && a.PadTokenID == b.PadTokenID
}

// TestQwenVocabGGUF converts the golden model that ships Dream's real
// tokenizer files and opens it through engine.Open: the embedded
// tokenizer must encode like the Hugging Face files (special tokens too)
// and the golden greedy case must come out.
func TestQwenVocabGGUF(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-qwen-vocab")
	path := convert(t, dir, "f32")
	e, err := engine.Open(path, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Tokenizer()
	if got == nil {
		t.Fatal("no tokenizer from the GGUF file")
	}
	if id, ok := got.TokenID("<|mask|>"); !ok || id != 151666 || e.Config().MaskTokenID != 151666 {
		t.Fatalf("<|mask|> = %d %v, config mask %d", id, ok, e.Config().MaskTokenID)
	}
	for _, s := range []string{
		"func main() {\n\tfmt.Println(\"héllo, 世界\")\n}\n",
		"<|im_start|>user\n  x := 42 // 🙂<|mask|><|endoftext|>",
		"def f(a, b):\n    return a**2 + b  # ok\r\n",
	} {
		a, b := got.EncodeSpecial(s), want.EncodeSpecial(s)
		if !slices.Equal(a, b) {
			t.Fatalf("EncodeSpecial(%q):\n GGUF %v\n HF   %v", s, a, b)
		}
		if got.Decode(a) != s {
			t.Fatalf("Decode round trip of %q: %q", s, got.Decode(a))
		}
	}
	var g golden
	data, _ := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err := json.Unmarshal(data, &g); err != nil || len(g.Cases) == 0 {
		t.Fatalf("golden.json: %v", err)
	}
	c := g.Cases[0]
	res, err := e.Denoise(context.Background(), denoise.Request{Canvases: [][]int{c.InputIDs}, Steps: c.Steps, Sampler: sampler.Options{Alg: sampler.Alg(c.Alg)}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Canvases[0], c.OutputIDs) {
		t.Fatalf("Denoise output\n got %v\nwant %v", res.Canvases[0], c.OutputIDs)
	}
}
