package denoise_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// hostDevice is a DeviceModel on the host: the CPU model's Prefill and
// ForwardBlocks behind DeviceStep, and each wanted row's statistics
// computed from its logits as sample.cu does (greedy only), in float64 as
// runtime/sampler does.
// Its logits equal the CPU path's, so Run through it must give the CPU
// path's results exactly: the host-side schedule of the device path
// (commitSamples) is what is under test.
type hostDevice struct {
	m              *model.Model
	cache          *kvcache.Cache
	full, blocks   int
	samples, logit int
	eos            int // samples with p(eos)
}

func (h *hostDevice) Config() model.Config                          { return h.m.Config() }
func (h *hostDevice) Forward(in []model.Input) ([][]float32, error) { return h.m.Forward(in) }
func (h *hostDevice) Close() error                                  { h.cache.Free(); return nil }

func (h *hostDevice) DeviceStep(c denoise.DeviceCall) (*denoise.DeviceOutput, error) {
	var (
		lg  [][]float32
		err error
	)
	if c.Full != nil {
		h.full++
		lg, err = h.m.Prefill(h.cache, c.Full)
	} else {
		h.blocks++
		lg, err = h.m.ForwardBlocks(h.cache, c.Blocks)
	}
	if err != nil {
		return nil, err
	}
	if c.Logits {
		h.logit++
		return &denoise.DeviceOutput{Logits: lg}, nil
	}
	if c.Temperature != 0 {
		return nil, fmt.Errorf("hostDevice samples greedily only")
	}
	h.samples++
	V := h.m.Config().VocabSize
	out := &denoise.DeviceOutput{Samples: make([][]denoise.Sample, len(lg))}
	for i, l := range lg {
		for r := 0; r < len(l)/V; r++ {
			row := l[r*V : (r+1)*V]
			smp := rowStats(row)
			if c.EOSProb {
				// As eosTail computes it from the logits.
				m := slices.Max(row)
				sum := 0.0
				for _, v := range row {
					sum += math.Exp(float64(v - m))
				}
				smp.EOS = math.Exp(float64(row[c.EOS]-m)) / sum
				h.eos++
			}
			out.Samples[i] = append(out.Samples[i], smp)
		}
	}
	return out, nil
}

// rowStats is sample.cu's greedy statistics of one row.
func rowStats(row []float32) denoise.Sample {
	arg, top, second := 0, math.Inf(-1), math.Inf(-1)
	for i, v := range row {
		if x := float64(v); x > top {
			arg, top, second = i, x, top
		} else if x > second {
			second = x
		}
	}
	var s, h float64
	for _, v := range row {
		s += math.Exp(float64(v) - top)
	}
	for _, v := range row {
		q := math.Exp(float64(v)-top) / s
		h += q * math.Log(q+1e-10) // as runtime/sampler ranks entropy
	}
	return denoise.Sample{Token: arg, Prob: 1 / s, Top1: 1 / s, Top2: math.Exp(second-top) / s, Neg: h}
}

// TestDeviceRunMatchesHost runs every golden case of the tiny models
// through the DeviceModel path (device statistics, host schedule) and
// through the CPU path, uncached and with the dual cache, for every
// algorithm the device draws plus confidence_threshold over blocks and
// one it cannot (origin, through the logits), single and batched: the
// canvases must be identical step for step and the confidences agree.
func TestDeviceRunMatchesHost(t *testing.T) {
	root := sharedpath.Path(t, "golden", "models")
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			cases := goldentest.ReadTraces(t, dir, 1)
			m := loadModel(t, dir)
			hd := &hostDevice{m: m, cache: m.NewCache()}
			t.Cleanup(func() { hd.Close() })
			type variant struct {
				name    string
				opts    func(c goldentest.Generate) sampler.Options
				cache   denoise.CacheOptions
				batch   bool
				eosTail bool
				eosRuns bool
				split   bool // a device cache too small for both canvases: run in groups
			}
			golden := func(c goldentest.Generate) sampler.Options {
				return sampler.Options{Alg: sampler.Alg(c.Alg), Eps: c.Eps}
			}
			variants := []variant{
				{name: "golden", opts: golden},
				{name: "golden-cached", opts: golden, cache: denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 3}}},
				{name: "threshold-blocks", opts: func(c goldentest.Generate) sampler.Options {
					return sampler.Options{Alg: sampler.ConfidenceThreshold, Threshold: 0.2, BlockSize: 4, Eps: c.Eps}
				}, cache: denoise.CacheOptions{Enabled: true}},
				{name: "origin-logits", opts: func(c goldentest.Generate) sampler.Options {
					return sampler.Options{Alg: sampler.Origin, Seed: 3, Eps: c.Eps}
				}},
				{name: "batched", opts: golden, batch: true, cache: denoise.CacheOptions{Enabled: true}},
				{name: "eos-tail", opts: golden, eosTail: true, cache: denoise.CacheOptions{Enabled: true}},
				{name: "eos-runs", opts: golden, eosRuns: true, cache: denoise.CacheOptions{Enabled: true}},
				{name: "eos-runs-batched", opts: golden, eosRuns: true, batch: true},
				{name: "split", opts: golden, batch: true, split: true, cache: denoise.CacheOptions{Enabled: true}},
			}
			padded := 0  // eos-tail runs whose output differs from Dream's schedule's
			shorter := 0 // eos-runs runs that ended before Dream's schedule
			for _, v := range variants {
				for n, c := range cases {
					req := denoise.Request{Canvases: [][]int{c.InputIDs}, Steps: c.Steps, Sampler: v.opts(c), Cache: v.cache, EOSTail: v.eosTail, EOSRuns: v.eosRuns}
					if v.eosTail {
						// "eos" is the token the run commits first, so the tail pads.
						req.Sampler.EOSTokenID = c.OutputIDs[slices.Index(c.InputIDs, m.Config().MaskTokenID)]
					}
					if v.eosRuns {
						// "eos" is the token the run ends with, so the runs fill.
						req.Sampler.EOSTokenID = c.OutputIDs[slices.Index(c.InputIDs, m.Config().MaskTokenID)+countMask(c.InputIDs, m.Config().MaskTokenID)-1]
					}
					if v.batch {
						other := cases[(n+5)%len(cases)].InputIDs
						req.Canvases = append(req.Canvases, other)
						req.RowSteps = []int{0, max(1, c.Steps/2)}
					}
					var want, got [][][]int
					req.OnStep = func(_ int, cv [][]int) { want = append(want, clone2(cv)) }
					ref, err := denoise.Run(context.Background(), m, req)
					if err != nil {
						t.Fatalf("%s case %d: cpu: %v", v.name, n, err)
					}
					if v.eosTail && !slices.Equal(ref.Canvases[0], c.OutputIDs) {
						padded++
					}
					if v.eosRuns && ref.Steps < c.Steps {
						shorter++
					}
					req.OnStep = func(_ int, cv [][]int) { got = append(got, clone2(cv)) }
					var dm denoise.DeviceModel = hd
					if v.split {
						dm = smallDevice{hd}
					}
					res, err := denoise.Run(context.Background(), dm, req)
					if err != nil {
						t.Fatalf("%s case %d: device: %v", v.name, n, err)
					}
					if v.split {
						// Group by group: compare the final canvases (below).
						got, want = nil, nil
					}
					if len(got) != len(want) || res.Steps != ref.Steps {
						t.Fatalf("%s case %d: %d steps on the device path, %d on the cpu", v.name, n, len(got), len(want))
					}
					for r := range ref.Canvases {
						if !slices.Equal(res.Canvases[r], ref.Canvases[r]) {
							t.Fatalf("%s case %d: canvas %d:\n got %v\nwant %v", v.name, n, r, res.Canvases[r], ref.Canvases[r])
						}
					}
					for i := range want {
						for r := range want[i] {
							if !slices.Equal(got[i][r], want[i][r]) {
								t.Fatalf("%s case %d (%s, %d steps): step %d canvas %d:\n got %v\nwant %v", v.name, n, c.Alg, c.Steps, i, r, got[i][r], want[i][r])
							}
						}
					}
					for r := range ref.Confidence {
						for j, w := range ref.Confidence[r] {
							if g := res.Confidence[r][j]; math.Abs(float64(g-w)) > 1e-5 {
								t.Fatalf("%s case %d: confidence of canvas %d slot %d = %g, cpu %g", v.name, n, r, j, g, w)
							}
						}
					}
				}
			}
			if padded == 0 || hd.eos == 0 {
				t.Errorf("EOSTail changed %d golden outputs with %d device p(eos): the eos-tail variant tested nothing", padded, hd.eos)
			}
			if shorter == 0 {
				t.Error("no eos-runs run ended early: the variant tested nothing")
			}
			if hd.samples == 0 || hd.logit == 0 || hd.blocks == 0 {
				t.Errorf("device calls: %d sampled, %d with logits, %d cached blocks; every kind must have run", hd.samples, hd.logit, hd.blocks)
			}
		})
	}
}

// smallDevice is a hostDevice whose cache holds fewer rows than two golden
// canvases: Run must split a batch into groups that fit.
type smallDevice struct{ *hostDevice }

func (smallDevice) DeviceTokens() int { return 50 }

func clone2(cv [][]int) [][]int {
	out := make([][]int, len(cv))
	for i, c := range cv {
		out[i] = slices.Clone(c)
	}
	return out
}

// countMask counts the mask ids in ids.
func countMask(ids []int, mask int) int {
	n := 0
	for _, id := range ids {
		if id == mask {
			n++
		}
	}
	return n
}

// TestDeviceRunRefusesLongCanvas: a canvas longer than the model's
// positions gets the CPU path's error from the device path too, before
// any device work (the GPU ran 500-token canvases of the 256-position
// built-in model until 2026-12-04).
func TestDeviceRunRefusesLongCanvas(t *testing.T) {
	dir := filepath.Join(sharedpath.Path(t, "golden", "models"), "tiny-gqa")
	m := loadModel(t, dir)
	hd := &hostDevice{m: m, cache: m.NewCache()}
	t.Cleanup(func() { hd.Close() })
	cfg := m.Config()
	long := make([]int, cfg.MaxPositionEmbeddings+1)
	long[len(long)-1] = cfg.MaskTokenID
	for _, d := range []denoise.Model{m, hd} {
		_, err := denoise.Run(context.Background(), d, denoise.Request{Canvases: [][]int{long}, Steps: 1,
			Sampler: sampler.Options{Alg: sampler.MaskGITPlus}})
		if err == nil || !strings.Contains(err.Error(), "more than max_position_embeddings") {
			t.Errorf("%T: %d tokens with %d positions: err %v", d, len(long), cfg.MaxPositionEmbeddings, err)
		}
	}
	if hd.full+hd.blocks != 0 {
		t.Errorf("the device ran %d full passes and %d block steps before refusing", hd.full, hd.blocks)
	}
}
