package lsp_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
)

// BenchmarkServerOverhead measures what the server adds to a completion:
// one incremental didChange plus one automatic inlineCompletion round trip
// over an in-process pipe with LSP framing, against an engine that answers
// at once (no debounce, no model). Each iteration types one character, so
// the result cache misses and the engine is called. Reports the latency
// percentiles of the round trip.
func BenchmarkServerOverhead(b *testing.B) {
	ctx := context.Background()
	opts := quiet()
	c := lsptest.Start(b, lsp.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Load: lsptest.Loader(&lsptest.Echo{}), Settings: opts})
	if _, err := c.Initialize(ctx, nil, nil); err != nil {
		b.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	const uri = "file:///w/bench.go"
	// A realistic file: ~400 lines of Go.
	var src []byte
	for range 100 {
		src = append(src, "func f(x int) int {\n\ty := x * 2\n\treturn y\n}\n"...)
	}
	line := 100 * 4
	src = append(src, "var z = "...)
	if err := c.Open(ctx, uri, "go", string(src)); err != nil {
		b.Fatal(err)
	}
	col := len("var z = ")
	version := 1
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		version++
		start := time.Now()
		if err := c.Change(ctx, uri, version, line, col, line, col, "a"); err != nil {
			b.Fatal(err)
		}
		col++
		items, err := c.InlineCompletion(ctx, uri, line, col, 2)
		if err != nil || len(items) != 1 {
			b.Fatalf("%v, %v", items, err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
