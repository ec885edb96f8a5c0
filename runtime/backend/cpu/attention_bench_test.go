package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// BenchmarkAttention runs one layer's attention at the Qwen2.5-0.5B shape
// (14 heads, 2 KV heads, head dim 64): a full 320-token canvas, and a
// cached block step (65 query rows against a 320-row cache). FLOPs are the
// two products S = Q·Kᵀ and P·V (model.ForwardFLOPs counts the same).
// With AMX, "tiles/" runs the same on the tiles (SetBF16Matmul).
//
//	go test ./runtime/backend/cpu -run '^$' -bench Attention -benchtime 20x
func BenchmarkAttention(b *testing.B) {
	const H, KVH, hd, T = 14, 2, 64, 320
	for _, tiles := range []bool{false, true} {
		name := "f32"
		if tiles {
			if !amxAvailable() {
				continue
			}
			name = "tiles"
		}
		b.Run(name, func(b *testing.B) { benchAttention(b, H, KVH, hd, T, tiles) })
	}
}

func benchAttention(b *testing.B, H, KVH, hd, T int, tiles bool) {
	r := rand.New(rand.NewPCG(4, 4))
	be := New(0)
	if tiles {
		if err := be.SetBF16Matmul(true); err != nil {
			b.Fatal(err)
		}
	}
	wrap := func(rows, cols int) backend.Tensor {
		t, _ := be.Wrap(randWeights(r, rows*cols, 1), rows, cols)
		return t
	}
	report := func(b *testing.B, c0 float64, rows, keys int) {
		flops := 4 * float64(rows*keys*H*hd) * float64(b.N)
		b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		b.ReportMetric(flops/(cpuSeconds()-c0)/1e9, "GFLOP/cpu-s")
	}
	b.Run("full320", func(b *testing.B) {
		q, k, v := wrap(T, H*hd), wrap(T, KVH*hd), wrap(T, KVH*hd)
		out, _ := be.Alloc(T, H*hd)
		p := backend.AttentionParams{Heads: H, KVHeads: KVH, HeadDim: hd}
		c0 := cpuSeconds()
		for b.Loop() {
			if err := be.Attention(out, q, k, v, p); err != nil {
				b.Fatal(err)
			}
		}
		report(b, c0, T, T)
	})
	b.Run("block65of320", func(b *testing.B) {
		const R = 65
		q, k, v := wrap(R, H*hd), wrap(R, KVH*hd), wrap(R, KVH*hd)
		kc, vc := wrap(T, KVH*hd), wrap(T, KVH*hd)
		out, _ := be.Alloc(R, H*hd)
		slots := make([]int, R)
		for i := range slots {
			slots[i] = 200 + i
		}
		p := backend.CachedAttentionParams{Heads: H, KVHeads: KVH, HeadDim: hd, Slots: slots}
		c0 := cpuSeconds()
		for b.Loop() {
			if err := be.AttentionCached(out, q, k, v, kc, vc, p); err != nil {
				b.Fatal(err)
			}
		}
		report(b, c0, R, T)
	})
}
