package infill_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/internal/loadtest"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// timedRuntime wraps a Runtime and adds up the time spent tokenizing and
// denoising, and what each Denoise call asked for.
type timedRuntime struct {
	infill.Runtime
	mu      sync.Mutex
	encode  time.Duration
	denoise time.Duration
	calls   []infill.DenoiseRequest
}

func (t *timedRuntime) Encode(s string) []int {
	t0 := time.Now()
	ids := t.Runtime.Encode(s)
	t.mu.Lock()
	t.encode += time.Since(t0)
	t.mu.Unlock()
	return ids
}

func (t *timedRuntime) Denoise(ctx context.Context, req infill.DenoiseRequest) (*infill.DenoiseResult, error) {
	t0 := time.Now()
	res, err := t.Runtime.Denoise(ctx, req)
	t.mu.Lock()
	t.denoise += time.Since(t0)
	t.calls = append(t.calls, req)
	t.mu.Unlock()
	return res, err
}

// builtinRuntime opens the built-in model as `dream-lsp serve` does (CPU,
// dual K/V cache).
func builtinRuntime(tb testing.TB) infill.Runtime {
	tb.Helper()
	eng, err := engine.OpenFS(builtin.FS(), engine.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Cache: denoise.CacheOptions{Enabled: true}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	rt, err := infill.FromEngine(eng)
	if err != nil {
		tb.Fatal(err)
	}
	return rt
}

// latencyDoc is the ~530-token Go file of the LSP latency benchmark with
// the cursor on its blank line 59 (where `c.order.Remove(oldest)` was).
func latencyDoc(tb testing.TB) (string, int) {
	tb.Helper()
	b, err := os.ReadFile("../testdata/latency/lru.go")
	if err != nil {
		tb.Fatal(err)
	}
	text := string(b)
	off := 0
	for range 58 {
		off += strings.IndexByte(text[off:], '\n') + 1
	}
	return text, off
}

// BenchmarkCompleteBuiltin breaks the invoked completion of the LSP
// latency benchmark (lsp BenchmarkInvokedBuiltin) into its parts: the
// engine's context (tree-sitter parse, span, windows, tokenization),
// model (the denoising run of every length candidate in one batch) and
// post-processing times, the time in the tokenizer, and the steps run.
// Each iteration changes the first line so typed-ahead reuse misses.
//
//	go test ./infill -run '^$' -bench CompleteBuiltin -benchtime 10x
func BenchmarkCompleteBuiltin(b *testing.B) {
	rt := &timedRuntime{Runtime: builtinRuntime(b)}
	for _, c := range []struct {
		name string
		opts infill.Options
	}{
		{"default", infill.Options{}},
		// The fastest schedule measured on the held-out lines (issue 15):
		// at most 12 steps per candidate, confidence_threshold τ 0.9.
		{"max-steps-12", infill.Options{Alg: "confidence_threshold", MaxSteps: 12}},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			benchComplete(b, rt, infill.New(rt, c.opts))
		})
	}
}

func benchComplete(b *testing.B, rt *timedRuntime, eng *infill.Engine) {
	text, off := latencyDoc(b)
	var ctxT, model, post, enc, den, cpu []time.Duration
	i := 0
	for b.Loop() {
		i++
		pre := "// " + strings.Repeat("x", i%7) + "\n"
		rt.mu.Lock()
		rt.encode, rt.denoise, rt.calls = 0, 0, nil
		rt.mu.Unlock()
		c0 := loadtest.CPUTime()
		res, err := eng.Complete(context.Background(), infill.Request{Path: "lru.go", LanguageID: "go", Text: pre + text, Offset: len(pre) + off})
		cpu = append(cpu, loadtest.CPUTime()-c0)
		if err != nil {
			b.Fatal(err)
		}
		ctxT = append(ctxT, res.Timing.Context)
		model = append(model, res.Timing.Model)
		post = append(post, res.Timing.Post)
		enc = append(enc, rt.encode)
		den = append(den, rt.denoise)
		if i == 1 {
			for _, c := range rt.calls {
				masks := make([]int, len(c.Canvases))
				for r, cv := range c.Canvases {
					for _, id := range cv {
						if id == rt.MaskID() {
							masks[r]++
						}
					}
				}
				b.Logf("denoise call: %d canvases, masks %v, steps %d, row steps %v, alg %q", len(c.Canvases), masks, c.Steps, c.RowSteps, c.Alg)
			}
		}
	}
	// Each length candidate alone (Length fixed=N), for the breakdown.
	if len(rt.calls) == 1 {
		for r, cv := range rt.calls[0].Canvases {
			n := 0
			for _, id := range cv {
				if id == rt.MaskID() {
					n++
				}
			}
			t0, c0 := time.Now(), loadtest.CPUTime()
			if _, err := eng.Complete(context.Background(), infill.Request{Path: "lru.go", LanguageID: "go", Text: "//\n" + text, Offset: 3 + off, Length: "fixed=" + strconv.Itoa(n)}); err != nil {
				b.Fatal(err)
			}
			b.Logf("candidate %d (%d masks) alone: %v wall, %v CPU", r, n, time.Since(t0).Round(time.Millisecond), (loadtest.CPUTime() - c0).Round(time.Millisecond))
		}
	}
	med := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	b.ReportMetric(med(cpu), "cpu-ms")
	b.ReportMetric(med(ctxT), "context-ms")
	b.ReportMetric(med(model), "model-ms")
	b.ReportMetric(med(post), "post-ms")
	b.ReportMetric(med(enc), "tokenize-ms")
	b.ReportMetric(med(den), "denoise-ms")
}
