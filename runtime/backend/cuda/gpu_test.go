package cuda_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// These tests need a GPU and skip with the reason without one.

// TestGoldenTracesCUDA replays the greedy traces of the golden tiny models
// with the float32 CUDA path: they must be identical, token for token.
func TestGoldenTracesCUDA(t *testing.T) {
	runGoldenTraces(t, openGPU(t), nil)
}

// runGoldenTraces replays the golden traces of every tiny model, or with
// only != nil just the listed cases of the listed models.
func runGoldenTraces(t *testing.T, b *cuda.Backend, only map[string][]int) {
	root := sharedpath.Path(t, "golden", "models")
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded", "tiny-qwen-vocab"} {
		if _, ok := only[name]; only != nil && !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			if _, err := os.Stat(filepath.Join(dir, "golden.json")); os.IsNotExist(err) {
				testenv.Missingf(t, "golden model %s not present (bench/gpu/prepare.sh copies it)", name)
			}
			cases := goldentest.ReadTraces(t, dir, 1)
			cfg, ck, err := model.LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(cfg, model.CheckpointSource(ck), shared{b})
			ck.Close()
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for n, c := range cases {
				if only != nil && !slices.Contains(only[name], n) {
					continue
				}
				var trace [][]int
				res, err := denoise.Run(context.Background(), m, denoise.Request{
					Canvases: [][]int{c.InputIDs},
					Steps:    c.Steps,
					Sampler:  sampler.Options{Alg: sampler.Alg(c.Alg), Temperature: c.Temperature, Eps: c.Eps},
					OnStep:   func(step int, cs [][]int) { trace = append(trace, slices.Clone(cs[0])) },
				})
				if err != nil {
					t.Fatalf("case %d: %v", n, err)
				}
				for i, want := range c.Trace {
					got := res.Canvases[0]
					if i < len(trace) {
						got = trace[i]
					}
					if !slices.Equal(got, want) {
						t.Fatalf("case %d (%s): step %d:\n got %v\nwant %v", n, c.Alg, i, got, want)
					}
				}
				if !slices.Equal(res.Canvases[0], c.OutputIDs) {
					t.Fatalf("case %d: output\n got %v\nwant %v", n, res.Canvases[0], c.OutputIDs)
				}
			}
		})
	}
}

// checkShape is a Dream-like configuration small enough to build on the
// host: Dream 7B's head layout and ratios at a tenth of the width.
func checkShape(layers int) (model.Config, cuda.DreamShape) {
	cfg := model.BenchConfig()
	cfg.HiddenSize, cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim = 1024, 8, 2, 128
	cfg.IntermediateSize, cfg.NumLayers, cfg.VocabSize = 2816, layers, 8192
	cfg.MaskTokenID, cfg.BOSTokenID, cfg.EOSTokenID, cfg.PadTokenID = 8191, 8189, 8190, 8190
	cfg.EOSTokenIDs = []int{8190}
	return cfg, shapeOf(cfg)
}

func shapeOf(cfg model.Config) cuda.DreamShape {
	return cuda.DreamShape{Hidden: cfg.HiddenSize, Intermediate: cfg.IntermediateSize, Layers: cfg.NumLayers,
		Heads: cfg.NumHeads, KVHeads: cfg.NumKVHeads, HeadDim: cfg.HeadDim, Vocab: cfg.VocabSize,
		Theta: float32(cfg.RopeTheta), Eps: float32(cfg.RMSNormEps)}
}

// bf16Pair loads the same random weights into the float32 model (through
// backend.Backend) and into the bf16 fast path.
func bf16Pair(t testing.TB, b *cuda.Backend, cfg model.Config, ctx, maxT, maxRows int) (*model.Model, *cuda.BF16Model) {
	t.Helper()
	src := model.RandomSource(cfg, 7)
	f32, err := model.Load(cfg, src, shared{b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f32.Close() })
	bm, err := b.NewBF16Model(shapeOf(cfg), ctx, maxT, maxRows, func(name string) ([]float32, error) {
		v, _, err := src.Float32(name)
		return v, err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bm.Close() })
	return f32, bm
}

func iota(n, from int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = from + i
	}
	return v
}

func randomIDs(n, vocab int, seed uint64) []int {
	ids := make([]int, n)
	x := seed
	for i := range ids {
		x = x*6364136223846793005 + 1442695040888963407
		ids[i] = int((x >> 33) % uint64(vocab))
	}
	return ids
}

// relErr is ‖got − want‖ / ‖want‖.
func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return math.Inf(1)
	}
	return math.Sqrt(num / den)
}

// TestBF16MatchesFloat32 checks the fused bf16 path against the float32
// path (which the conformance suite ties to the CPU reference): logits at
// 64 positions within bf16's error for the depth (bf16Tol), greedy tokens
// agreeing on at least 90%, and the device sampler's statistics matching
// the logits.
func TestBF16MatchesFloat32(t *testing.T) {
	cfg, _ := checkShape(4)
	runBF16Match(t, openGPU(t), cfg, 256)
}

// runBF16Match compares the paths on a canvas of L tokens (L >= 128).
func runBF16Match(t *testing.T, b *cuda.Backend, cfg model.Config, L int) {
	const R = 64
	f32, bm := bf16Pair(t, b, cfg, L, L, R)
	ids := randomIDs(L, cfg.VocabSize, 3)
	want := iota(R, L-R-17) // 64 positions inside the canvas
	ref, err := f32.Forward([]model.Input{{IDs: ids, Want: want}})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []cuda.AttentionMode{cuda.AttentionFused, cuda.AttentionGEMM} {
		t.Run(mode.String(), func(t *testing.T) {
			bm.SetAttention(mode)
			checkBF16(t, bm, cfg, ids, want, ref[0])
		})
	}
	// native's skinny GEMM (M <= 64): a canvas of 64 tokens.
	t.Run("skinny", func(t *testing.T) {
		bm.SetAttention(cuda.AttentionFused)
		short := ids[:64]
		w := iota(32, 20)
		ref, err := f32.Forward([]model.Input{{IDs: short, Want: w}})
		if err != nil {
			t.Fatal(err)
		}
		bm.SetSkinnyGEMM(true)
		defer bm.SetSkinnyGEMM(false)
		checkBF16(t, bm, cfg, short, w, ref[0])
	})
}

// bf16Tol is the relative logit error allowed between the bf16 path and
// float32 for a model of the given depth: each layer rounds its
// activations to bf16 (8 significant bits) about ten times, and the error
// grows about linearly with depth, on top of the embedding's and lm_head's
// share. Measured: 0.0067 at 1 layer and 0.0083 at 2 on the emulator,
// 0.0181 (fused), 0.0183 (GEMM attention) and 0.0135 (skinny GEMM) at 4
// layers on an H200 (2026-12-04).
func bf16Tol(layers int) float64 { return 4e-3 + 5e-3*float64(layers) }

func checkBF16(t *testing.T, bm *cuda.BF16Model, cfg model.Config, ids, want []int, ref []float32) {
	L, R := len(ids), len(want)
	res, err := bm.Forward(cuda.ForwardArgs{IDs: ids, Positions: iota(L, 0), Rows: want}, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bm.Logits(R)
	if err != nil {
		t.Fatal(err)
	}
	e := relErr(got, ref)
	t.Logf("bf16 vs float32 logits: relative error %.3g over %d×%d", e, R, cfg.VocabSize)
	if tol := bf16Tol(cfg.NumLayers); !(e <= tol) {
		t.Errorf("relative error %.3g > %.3g (%d layers)", e, tol, cfg.NumLayers)
	}
	V := cfg.VocabSize
	agree := 0
	if R < 64 {
		R = len(want)
	}
	for r := range R {
		refArg := slices.Index(ref[r*V:(r+1)*V], slices.Max(ref[r*V:(r+1)*V]))
		if res.Tokens[r] == refArg {
			agree++
		}
		// The device sampler against the device logits.
		row := got[r*V : (r+1)*V]
		top := slices.Max(row)
		arg := slices.Index(row, top)
		if res.Tokens[r] != arg {
			t.Errorf("row %d: greedy token %d, argmax of the logits %d", r, res.Tokens[r], arg)
		}
		var s, second float64
		second = math.Inf(-1)
		for i, v := range row {
			s += math.Exp(float64(v - top))
			if i != arg && float64(v) > second {
				second = float64(v)
			}
		}
		var ent float64
		for _, v := range row {
			p := math.Exp(float64(v-top)) / s
			if p > 0 {
				ent += p * math.Log(p)
			}
		}
		wantStats := [4]float64{1 / s, 1 / s, math.Exp(second-float64(top)) / s, ent}
		for j := range 4 {
			if d := math.Abs(float64(res.Stats[r][j]) - wantStats[j]); d > 1e-4*(1+math.Abs(wantStats[j])) {
				t.Errorf("row %d stat %d = %g, want %g", r, j, res.Stats[r][j], wantStats[j])
			}
		}
	}
	// Random weights give nearly flat logits, where bf16 rounding flips
	// close argmaxes: this small model is held to 90 %; the 95 %
	// is judged at Dream 7B's shape in bench/gpu's summary, beside
	// PyTorch's own bf16-vs-float32 agreement.
	t.Logf("greedy tokens agree on %d/%d rows", agree, R)
	if agree*100 < 90*R {
		t.Errorf("greedy tokens agree on %d/%d rows, want ≥ 90%%", agree, R)
	}
}

// TestCachedStepMatchesFullForward recomputes a block against the K/V cache
// a full forward filled: the block's logits must match the full forward's.
func TestCachedStepMatchesFullForward(t *testing.T) {
	cfg, _ := checkShape(2)
	runCachedStep(t, openGPU(t), cfg, 256, 32, 150)
}

func runCachedStep(t *testing.T, b *cuda.Backend, cfg model.Config, L, B, start int) {
	_, bm := bf16Pair(t, b, cfg, L, L, L)
	ids := randomIDs(L, cfg.VocabSize, 5)
	rows := iota(B, start)
	// The block plus the token before it (Dream's shifted logits read
	// hidden row p-1).
	blk := iota(B+1, start-1)
	for _, mode := range []cuda.AttentionMode{cuda.AttentionFused, cuda.AttentionGEMM} {
		bm.SetAttention(mode)
		if _, err := bm.Forward(cuda.ForwardArgs{IDs: ids, Positions: iota(L, 0), Rows: rows}, false); err != nil {
			t.Fatal(err)
		}
		full, err := bm.Logits(B)
		if err != nil {
			t.Fatal(err)
		}
		for _, graph := range []bool{false, true} {
			_, err := bm.Forward(cuda.ForwardArgs{IDs: ids[start-1 : start+B], Positions: blk, Slots: blk, NK: L,
				Rows: iota(B, 1)}, graph)
			if err != nil {
				t.Fatal(err)
			}
			got, err := bm.Logits(B)
			if err != nil {
				t.Fatal(err)
			}
			// A cache bug (wrong slot, stale row, missing key) moves the
			// logits by O(1). What remains is bf16 rounding: cuBLASLt
			// picks other algorithms for a block's 33 rows than for the
			// canvas, so projections round differently (0.0031 fused,
			// 0.0073 GEMM attention at 2 layers on an H200; 0 on the
			// emulator, whose GEMM is one algorithm).
			if e := relErr(got, full); !(e < bf16Tol(cfg.NumLayers)) {
				t.Errorf("graph=%v attention=%v: cached-step logits differ from the full forward: relative error %.3g", graph, mode, e)
			} else {
				t.Logf("graph=%v attention=%v: relative error %.3g", graph, mode, e)
			}
		}
	}
}

// TestSamplingDeterministic checks Gumbel sampling: the same seed and step
// give the same tokens, another step other tokens, and sampled tokens are
// plausible (a sampled token's probability is reported in stats[0]).
func TestSamplingDeterministic(t *testing.T) {
	b := openGPU(t)
	const L, R = 64, 32
	cfg, _ := checkShape(1)
	_, bm := bf16Pair(t, b, cfg, L, L, R)
	ids := randomIDs(L, cfg.VocabSize, 9)
	run := func(step uint64, graph bool) *cuda.ForwardResult {
		r, err := bm.Forward(cuda.ForwardArgs{IDs: ids, Positions: iota(L, 0), Rows: iota(R, 10), Temperature: 1.5, Seed: 42, Step: step}, graph)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, a2, c := run(1, false), run(1, true), run(2, true)
	if !slices.Equal(a.Tokens, a2.Tokens) {
		t.Errorf("same seed and step, eager vs graph: %v vs %v", a.Tokens, a2.Tokens)
	}
	if slices.Equal(a.Tokens, c.Tokens) {
		t.Errorf("steps 1 and 2 drew identical tokens %v: the graph froze the step", a.Tokens)
	}
	for r, st := range c.Stats {
		if !(st[0] > 0 && st[0] <= st[1] && st[1] <= 1) {
			t.Errorf("row %d: stats %v not ordered 0 < p(tok) ≤ p(top1) ≤ 1", r, st)
		}
	}
}

// TestBatchedCanvasesMatchSingle runs two canvases' blocks in one forward
// (segments, each against its own cache region) and one at a time: the
// logits must agree.
func TestBatchedCanvasesMatchSingle(t *testing.T) {
	cfg, _ := checkShape(2)
	runBatched(t, openGPU(t), cfg, 128, 16, 60)
}

func runBatched(t *testing.T, b *cuda.Backend, cfg model.Config, L, B, start int) {
	_, bm := bf16Pair(t, b, cfg, 2*L, L, 2*B)
	canv := [][]int{randomIDs(L, cfg.VocabSize, 11), randomIDs(L, cfg.VocabSize, 12)}
	for _, mode := range []cuda.AttentionMode{cuda.AttentionFused, cuda.AttentionGEMM} {
		bm.SetAttention(mode)
		var single []float32
		for c := range 2 {
			seg := []cuda.Segment{{Tokens: L, KeyBase: c * L, NK: L}}
			if _, err := bm.Forward(cuda.ForwardArgs{IDs: canv[c], Positions: iota(L, 0), Slots: iota(L, c*L), Rows: []int{1}, Segments: seg}, false); err != nil {
				t.Fatal(err)
			}
			blk := cuda.ForwardArgs{IDs: canv[c][start-1 : start+B], Positions: iota(B+1, start-1), Slots: iota(B+1, c*L+start-1),
				Rows: iota(B, 1), Segments: []cuda.Segment{{Tokens: B + 1, KeyBase: c * L, NK: L}}}
			if _, err := bm.Forward(blk, false); err != nil {
				t.Fatal(err)
			}
			lg, err := bm.Logits(B)
			if err != nil {
				t.Fatal(err)
			}
			single = append(single, lg...)
		}
		ids := append(append([]int(nil), canv[0][start-1:start+B]...), canv[1][start-1:start+B]...)
		pos := append(iota(B+1, start-1), iota(B+1, start-1)...)
		slots := append(iota(B+1, start-1), iota(B+1, L+start-1)...)
		rows := append(iota(B, 1), iota(B, B+2)...)
		segs := []cuda.Segment{{Tokens: B + 1, KeyBase: 0, NK: L}, {Tokens: B + 1, KeyBase: L, NK: L}}
		for _, graph := range []bool{false, true} {
			if _, err := bm.Forward(cuda.ForwardArgs{IDs: ids, Positions: pos, Slots: slots, Rows: rows, Segments: segs}, graph); err != nil {
				t.Fatal(err)
			}
			got, err := bm.Logits(2 * B)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, single); !(e < 1e-3) {
				t.Errorf("attention=%v graph=%v: batched logits differ from one canvas at a time: relative error %.3g", mode, graph, e)
			}
		}
	}
}
