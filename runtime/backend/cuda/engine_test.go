package cuda_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// TestEngineFastPathCUDA runs engine.Denoise through the bf16 fast path on
// a GPU against the CPU engine (see runEngineFastPath).
func TestEngineFastPathCUDA(t *testing.T) {
	runEngineFastPath(t, openGPU(t), "tiny-mha-sharded", nil)
}

// runEngineFastPath opens a golden tiny model with engine.Open on the CUDA
// backend, which must choose the bf16 fast path (cuda.DreamModel: bf16
// weights, the device's own K/V cache, sampling on the device), and with
// the CPU backend, then checks:
//   - the log names the path ("cuda-bf16") and Engine.Path reports it;
//   - logits (Engine.Forward) of every golden input canvas within 1e-2
//     relative error of the CPU's and greedy argmaxes agreeing on at least
//     90 % of the masked slots: the bf16 bounds of TestBF16MatchesFloat32;
//   - engine.Denoise of the golden cases (all, or the listed ones with
//     the dual cache only), with the dual cache and uncached: with topk_margin, device sampling
//     with the host schedule gives, step for step, the canvases
//     runtime/sampler gives on the same device's logits (TopK =
//     vocabulary, no filter, makes the engine read logits back); every
//     mask filled, pinned slots kept, confidences in (0, 1]. For
//     maskgit_plus and entropy the step where the two part is logged: on
//     these random models every masked slot predicts the same token with
//     nearly the same probability (to about 1e-6), below what the device's
//     float32 statistics resolve, while topk_margin's margins differ by
//     about 1e-2. Whole trajectories against the CPU engine are logged,
//     not asserted: one bf16-flipped commit order changes the rest of a
//     run.
//
// tiny-mha-sharded, not tiny-gqa: tiny-gqa's greedy margins (top-1 minus
// top-2 logit, about 1e-3 on logits near 0.5) are below bf16's resolution,
// so its argmaxes flip under any bf16 path; tiny-mha-sharded's are about
// 0.15.
func runEngineFastPath(t *testing.T, b *cuda.Backend, name string, only []int) {
	dir := filepath.Join(sharedpath.Path(t, "golden", "models"), name)
	cases := goldentest.ReadTraces(t, dir, 1)
	var logs bytes.Buffer
	gpu, err := engine.Open(dir, engine.Options{Backend: shared{b}, DeviceTokens: 256,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer gpu.Close()
	if gpu.Path() != "cuda-bf16" || !strings.Contains(logs.String(), "path=cuda-bf16") {
		t.Fatalf("engine path %q, want cuda-bf16; log:\n%s", gpu.Path(), logs.String())
	}
	host, err := engine.Open(dir, engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if host.Path() != "cpu" {
		t.Errorf("CPU engine path %q", host.Path())
	}
	cfg := host.Config()
	mask, V := cfg.MaskTokenID, cfg.VocabSize
	masked := func(ids []int) []int {
		var w []int
		for j, id := range ids {
			if id == mask {
				w = append(w, j)
			}
		}
		return w
	}

	var canvases [][]int
	for n, c := range cases {
		if (only == nil || slices.Contains(only, n)) && !slices.ContainsFunc(canvases, func(x []int) bool { return slices.Equal(x, c.InputIDs) }) {
			canvases = append(canvases, c.InputIDs)
		}
	}
	argAgree, rows := 0, 0
	for _, ids := range canvases {
		in := []model.Input{{IDs: ids, Want: masked(ids)}}
		ref, err := host.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := gpu.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		e := relErr(got[0], ref[0])
		t.Logf("canvas of %d tokens: fast-path logits within %.3g relative error of the CPU's", len(ids), e)
		if !(e <= 1e-2) {
			t.Errorf("canvas of %d tokens: relative error %.3g > 1e-2", len(ids), e)
		}
		for r := range len(in[0].Want) {
			g, w := got[0][r*V:(r+1)*V], ref[0][r*V:(r+1)*V]
			if slices.Index(g, slices.Max(g)) == slices.Index(w, slices.Max(w)) {
				argAgree++
			}
			rows++
		}
	}
	t.Logf("greedy argmax of the fast path = the CPU's on %d/%d masked slots", argAgree, rows)
	if rows == 0 || argAgree*100 < 90*rows {
		t.Errorf("greedy argmax agrees on %d/%d masked slots, want ≥ 90%%", argAgree, rows)
	}

	agree, total := 0, 0
	caches := []denoise.CacheOptions{{Enabled: true, Policy: kvcache.Policy{Refresh: 2}}, {}}
	if only != nil {
		caches = caches[:1] // the emulator's fast subset: refreshes are full passes too
	}
	for _, cache := range caches {
		for n, c := range cases {
			if only != nil && !slices.Contains(only, n) {
				continue
			}
			req := denoise.Request{Canvases: [][]int{c.InputIDs}, Steps: c.Steps, Cache: cache,
				Sampler: sampler.Options{Alg: sampler.Alg(c.Alg), Eps: c.Eps}}
			var onDev, viaLogits [][]int
			req.OnStep = func(_ int, cv [][]int) { onDev = append(onDev, slices.Clone(cv[0])) }
			res, err := gpu.Denoise(context.Background(), req)
			if err != nil {
				t.Fatalf("case %d cache=%v: fast path: %v", n, cache.Enabled, err)
			}
			lreq := req
			lreq.Sampler.TopK = V // no filter, but not a device draw: logits come back
			lreq.OnStep = func(_ int, cv [][]int) { viaLogits = append(viaLogits, slices.Clone(cv[0])) }
			if denoise.OnDevice(lreq.Sampler) || !denoise.OnDevice(req.Sampler) {
				t.Fatalf("OnDevice: %v for the device request, %v for the logits one", denoise.OnDevice(req.Sampler), denoise.OnDevice(lreq.Sampler))
			}
			if _, err := gpu.Denoise(context.Background(), lreq); err != nil {
				t.Fatalf("case %d cache=%v: fast path, host sampler: %v", n, cache.Enabled, err)
			}
			if len(onDev) != len(viaLogits) || len(onDev) != res.Steps {
				t.Fatalf("case %d cache=%v: %d steps sampled on the device, %d through logits", n, cache.Enabled, len(onDev), len(viaLogits))
			}
			for i := range onDev {
				if slices.Equal(onDev[i], viaLogits[i]) {
					continue
				}
				if c.Alg == string(sampler.TopKMargin) {
					t.Fatalf("case %d (%s) cache=%v, step %d: device sampling\n %v\nruntime/sampler on the device's logits\n %v", n, c.Alg, cache.Enabled, i, onDev[i], viaLogits[i])
				}
				t.Logf("case %d (%s) cache=%v: device sampling and runtime/sampler on the same logits part at step %d of %d (float32 near-tie of the slots' confidences)", n, c.Alg, cache.Enabled, i, len(onDev))
				break
			}
			req.OnStep = nil
			cpu, err := host.Denoise(context.Background(), req)
			if err != nil {
				t.Fatalf("case %d: cpu: %v", n, err)
			}
			for j, id := range c.InputIDs {
				g, conf := res.Canvases[0][j], res.Confidence[0][j]
				switch {
				case id != mask && (g != id || conf != 0):
					t.Fatalf("case %d: pinned slot %d changed to %d (confidence %g)", n, j, g, conf)
				case id == mask && (g == mask || !(conf > 0 && conf <= 1)):
					t.Fatalf("case %d: slot %d left %d with confidence %g", n, j, g, conf)
				case id == mask:
					total++
					if g == cpu.Canvases[0][j] {
						agree++
					}
				}
			}
		}
	}
	t.Logf("whole runs, fast path vs CPU engine: %d/%d committed tokens equal (not asserted)", agree, total)
}

// runDreamSamples checks cuda.DreamModel's bookkeeping on a golden tiny
// model: two canvases in one full call (the second masked at position 0,
// which needs a forward of its own) and then their cached blocks, with
// Rows = 6 so the first canvas's 8 wanted rows take two passes (and CUDA
// graph replays). Each wanted slot's device sample must be the argmax of the
// logits the same call returns with Logits set, with that row's
// statistics and p(token 5) (EOSProb, gathered with LogitsAt) (1e-4); the full call's logits must be those of a canvas
// alone, the blocks' those of the full call (1e-2: the block's K/V are
// recomputed in bf16).
func runDreamSamples(t *testing.T, b *cuda.Backend, name string) {
	dir := filepath.Join(sharedpath.Path(t, "golden", "models"), name)
	cfg, ck, err := model.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	dm, err := b.LoadDream(cfg, model.CheckpointSource(ck), cuda.DreamLimits{Context: 128, Rows: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()
	mask, V := cfg.MaskTokenID, cfg.VocabSize
	cases := goldentest.ReadTraces(t, dir, 1)
	var in []model.Input
	for _, n := range []int{0, 27} {
		ids := cases[n].InputIDs
		var want []int
		for j, id := range ids {
			if id == mask {
				want = append(want, j)
			}
		}
		in = append(in, model.Input{IDs: ids, Want: want})
	}
	check := func(what string, call denoise.DeviceCall) [][]float32 {
		t.Helper()
		call.Logits, call.EOSProb, call.EOS = false, true, 5
		smp, err := dm.DeviceStep(call)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		call.Logits, call.EOSProb = true, false
		lg, err := dm.DeviceStep(call)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for i := range smp.Samples {
			for w, s := range smp.Samples[i] {
				row := lg.Logits[i][w*V : (w+1)*V]
				top := slices.Max(row)
				arg := slices.Index(row, top)
				var sum, second float64
				second = -1e30
				for k, v := range row {
					sum += math.Exp(float64(v - top))
					if k != arg && float64(v) > second {
						second = float64(v)
					}
				}
				want := [4]float64{1 / sum, 1 / sum, math.Exp(second-float64(top)) / sum, math.Exp(float64(row[5]-top)) / sum}
				got := [4]float64{s.Prob, s.Top1, s.Top2, s.EOS}
				if s.Token != arg {
					t.Errorf("%s: canvas %d slot %d: device token %d, argmax of its logits %d", what, i, w, s.Token, arg)
				}
				for k := range got {
					if math.Abs(got[k]-want[k]) > 1e-4*want[k] {
						t.Errorf("%s: canvas %d slot %d: statistic %d = %g, from the logits %g", what, i, w, k, got[k], want[k])
					}
				}
			}
		}
		return lg.Logits
	}
	full := check("full", denoise.DeviceCall{Full: in})
	var blocks []model.Block
	for i, c := range in {
		s, e, _ := kvcache.Block(c.IDs, mask)
		blocks = append(blocks, model.Block{Seq: i, Start: s, IDs: c.IDs[s:e], Want: c.Want})
	}
	cached := check("blocks", denoise.DeviceCall{Blocks: blocks})
	for i := range in {
		if e := relErr(cached[i], full[i]); !(e < 1e-2) {
			t.Errorf("canvas %d: cached block logits vs the full pass: relative error %.3g", i, e)
		}
	}
	// The first canvas alone (the second had a forward of its own anyway).
	one, err := dm.Forward(in[:1])
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(full[0], one[0]); !(e < 1e-5) {
		t.Errorf("batched logits differ from one canvas at a time: relative error %.3g", e)
	}
	// A position past the model's is refused, as the CPU model refuses it.
	P := cfg.MaxPositionEmbeddings
	bad := model.Input{IDs: in[0].IDs[:2], Positions: []int{0, P}, Want: []int{1}}
	if _, err := dm.Forward([]model.Input{bad}); err == nil || !strings.Contains(err.Error(), "outside [0,") {
		t.Errorf("position %d of a %d-position model: err %v", P, P, err)
	}
}
