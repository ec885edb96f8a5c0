package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// devBackend is the CPU backend with a fast path of its own (a
// DeviceLoader), as the CUDA backend has: the "device" model is the CPU
// model behind denoise.DeviceModel, so its results must equal the generic
// path's exactly, which makes the engine's wiring testable without a GPU.
type devBackend struct {
	backend.Backend
	fail   error
	loaded *hostDevice
}

func (b *devBackend) LoadDeviceModel(cfg model.Config, src model.WeightSource, tokens int) (denoise.DeviceModel, error) {
	if b.fail != nil {
		return nil, b.fail
	}
	m, err := model.Load(cfg, src, b.Backend)
	if err != nil {
		return nil, err
	}
	b.loaded = &hostDevice{m: m, cache: m.NewCache()}
	return b.loaded, nil
}

type hostDevice struct {
	m      *model.Model
	cache  *kvcache.Cache
	steps  int
	closed bool
}

func (h *hostDevice) Config() model.Config                          { return h.m.Config() }
func (h *hostDevice) Forward(in []model.Input) ([][]float32, error) { return h.m.Forward(in) }
func (h *hostDevice) Path() string                                  { return "test-device" }
func (h *hostDevice) Close() error {
	h.closed = true
	h.cache.Free()
	return h.m.Close()
}

func (h *hostDevice) DeviceStep(c denoise.DeviceCall) (*denoise.DeviceOutput, error) {
	h.steps++
	var (
		lg  [][]float32
		err error
	)
	if c.Full != nil {
		lg, err = h.m.Prefill(h.cache, c.Full)
	} else {
		lg, err = h.m.ForwardBlocks(h.cache, c.Blocks)
	}
	if err != nil || c.Logits {
		return &denoise.DeviceOutput{Logits: lg}, err
	}
	V := h.m.Config().VocabSize
	out := &denoise.DeviceOutput{Samples: make([][]denoise.Sample, len(lg))}
	for i, l := range lg {
		for r := 0; r < len(l)/V; r++ {
			row := l[r*V : (r+1)*V]
			arg := 0
			for k, v := range row {
				if v > row[arg] {
					arg = k
				}
			}
			var s, second, neg float64
			for k, v := range row {
				e := math.Exp(float64(v - row[arg]))
				s += e
				if k != arg {
					second = max(second, e)
				}
			}
			for _, v := range row {
				q := math.Exp(float64(v-row[arg])) / s
				neg += q * math.Log(q+1e-10)
			}
			out.Samples[i] = append(out.Samples[i], denoise.Sample{Token: arg, Prob: 1 / s, Top1: 1 / s, Top2: second / s, Neg: neg})
		}
	}
	return out, nil
}

// TestOpenChoosesDevicePath: on a backend that is a DeviceLoader, Open runs
// its fast path (logged, reported by Path) and Denoise replays the golden
// greedy traces through it; a loader that fails, or a weight mode the fast
// path does not keep, falls back to the generic path with a Warn naming
// the reason; Close closes the device model.
func TestOpenChoosesDevicePath(t *testing.T) {
	dir := filepath.Join(sharedpath.Path(t, "golden", "models"), "tiny-gqa")
	cases := goldentest.ReadTraces(t, dir, 1)
	for _, tc := range []struct {
		name    string
		fail    error
		weights model.WeightMode
		path    string
		log     string
	}{
		{name: "fast", path: "test-device", log: "fast path: the device keeps"},
		{name: "load-fails", fail: errors.New("no room for the weights"), path: "cpu", log: "fast path unavailable"},
		{name: "f32-weights", weights: model.WeightsF32, path: "cpu", log: "fast path skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			be := &devBackend{Backend: cpu.New(1), fail: tc.fail}
			e, err := Open(dir, Options{Backend: be, Weights: tc.weights, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if e.Path() != tc.path || !strings.Contains(logs.String(), tc.log) || !strings.Contains(logs.String(), "path="+tc.path) {
				t.Fatalf("Path() = %q, want %q; log:\n%s", e.Path(), tc.path, logs.String())
			}
			if tc.fail != nil && !strings.Contains(logs.String(), tc.fail.Error()) {
				t.Errorf("the fallback's Warn does not say why:\n%s", logs.String())
			}
			for n, c := range cases {
				res, err := e.Denoise(context.Background(), denoise.Request{Canvases: [][]int{c.InputIDs}, Steps: c.Steps,
					Sampler: sampler.Options{Alg: sampler.Alg(c.Alg), Eps: c.Eps}})
				if err != nil {
					t.Fatalf("case %d: %v", n, err)
				}
				if !slices.Equal(res.Canvases[0], c.OutputIDs) {
					t.Fatalf("case %d (%s, %d steps): output\n got %v\nwant %v", n, c.Alg, c.Steps, res.Canvases[0], c.OutputIDs)
				}
			}
			if used := be.loaded != nil && be.loaded.steps > 0; used != (tc.path == "test-device") {
				t.Errorf("device model used: %v, path %s", used, tc.path)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if be.loaded != nil && !be.loaded.closed {
				t.Error("Close left the device model open")
			}
			if _, err := e.Denoise(context.Background(), denoise.Request{Canvases: [][]int{cases[0].InputIDs}, Steps: 1,
				Sampler: sampler.Options{Alg: sampler.MaskGITPlus}}); !errors.Is(err, ErrClosed) {
				t.Errorf("Denoise after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestBatcherOnDevicePath: a Batcher over an engine on a device's fast
// path starts and runs every request through Engine.Denoise (the stream
// batches the generic path's model only), with the golden results.
func TestBatcherOnDevicePath(t *testing.T) {
	dir := filepath.Join(sharedpath.Path(t, "golden", "models"), "tiny-gqa")
	cases := goldentest.ReadTraces(t, dir, 1)
	be := &devBackend{Backend: cpu.New(1)}
	e, err := Open(dir, Options{Backend: be, Cache: denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 1}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b, err := NewBatcher(e, BatchOptions{})
	if err != nil {
		t.Fatalf("NewBatcher on the %s path: %v", e.Path(), err)
	}
	defer b.Close()
	errs := make(chan error, len(cases))
	for n, c := range cases {
		go func() {
			res, err := b.Denoise(context.Background(), denoise.Request{Canvases: [][]int{c.InputIDs}, Steps: c.Steps,
				Sampler: sampler.Options{Alg: sampler.Alg(c.Alg), Eps: c.Eps}})
			if err == nil && !slices.Equal(res.Canvases[0], c.OutputIDs) {
				err = fmt.Errorf("case %d: output\n got %v\nwant %v", n, res.Canvases[0], c.OutputIDs)
			}
			errs <- err
		}()
	}
	for range cases {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if be.loaded.steps == 0 {
		t.Error("the batcher did not run the device model")
	}
}

// TestBF16MatmulOnOtherBackend: --matmul bf16 is a CPU option; on another
// backend (a GPU's fast path here) Open warns that it is ignored and runs
// as without it, the golden greedy traces exactly.
func TestBF16MatmulOnOtherBackend(t *testing.T) {
	dir := filepath.Join(sharedpath.Path(t, "golden", "models"), "tiny-gqa")
	var logs bytes.Buffer
	be := &devBackend{Backend: cpu.New(1)}
	e, err := Open(dir, Options{Backend: be, Matmul: MatmulBF16, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !strings.Contains(logs.String(), "--matmul bf16 applies to the CPU backend only") || !strings.Contains(logs.String(), "matmul=f32") {
		t.Fatalf("no Warn, or the wrong matmul logged:\n%s", logs.String())
	}
	for n, c := range goldentest.ReadTraces(t, dir, 1) {
		res, err := e.Denoise(context.Background(), denoise.Request{Canvases: [][]int{c.InputIDs}, Steps: c.Steps,
			Sampler: sampler.Options{Alg: sampler.Alg(c.Alg), Eps: c.Eps}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Canvases[0], c.OutputIDs) {
			t.Fatalf("case %d: output\n got %v\nwant %v", n, res.Canvases[0], c.OutputIDs)
		}
	}
}
