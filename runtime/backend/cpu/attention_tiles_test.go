package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/backendtest"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// bf16Round returns v with every value rounded to bf16 (cvtBF16's
// rounding), as float32.
func bf16Round(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = math.Float32frombits(uint32(roundBF16(x)) << 16)
	}
	return out
}

// tileAttnTol bounds the tiles' attention against the float64 reference
// on Q, K and V rounded to bf16 as the tiles round them: what is left is
// P's rounding to bf16 (2⁻⁹ of each weight, so at most 2⁻⁹·max|v| ≈ 0.008
// for these values, and far less in practice) and float32 sums. A wrong
// tile layout, key or mask is off by the values themselves.
const tileAttnTol = 4e-3

// maxRelErr is check's error measure: |got − want| / (1 + |want|), NaN
// as infinity.
func maxRelErr(got []float32, want []float64) float64 {
	var worst float64
	for i, g := range got {
		e := math.Abs(float64(g)-want[i]) / (1 + math.Abs(want[i]))
		if math.IsNaN(e) {
			return math.Inf(1)
		}
		worst = max(worst, e)
	}
	return worst
}

// withTileAttention runs fn on a backend whose attention runs on the tiles
// from one query head per KV head on, and checks that it does.
func withTileAttention(t *testing.T, fn func(be *Backend)) {
	t.Helper()
	if !amxAvailable() {
		t.Skip(ErrNoAMX)
	}
	old := tileAttnGroup
	tileAttnGroup = 1
	t.Cleanup(func() { tileAttnGroup = old })
	be := New(2)
	t.Cleanup(func() { be.Close() })
	if err := be.SetBF16Matmul(true); err != nil {
		t.Fatal(err)
	}
	fn(be)
}

func TestTileAttention(t *testing.T) {
	withTileAttention(t, func(be *Backend) {
		for _, c := range []struct {
			T          int
			H, KVH, hd int
			seqLens    []int
			masked     []int // invalid rows
		}{
			{T: 1, H: 4, KVH: 1, hd: 32},
			{T: 37, H: 14, KVH: 2, hd: 64},
			{T: 101, H: 8, KVH: 2, hd: 128, seqLens: []int{33, 68}},
			{T: 320, H: 14, KVH: 2, hd: 64, masked: []int{0, 1, 2, 150}},
			{T: 70, H: 3, KVH: 3, hd: 32, seqLens: []int{64, 1, 5}, masked: []int{64}},
		} {
			name := fmt.Sprintf("T=%d/H=%d/KVH=%d/hd=%d/seqs=%v", c.T, c.H, c.KVH, c.hd, c.seqLens)
			t.Run(name, func(t *testing.T) {
				if !be.tileAttention(c.H, c.KVH, c.hd) {
					t.Fatal("attention not on the tiles")
				}
				r := rand.New(rand.NewPCG(uint64(c.T), uint64(c.hd)))
				qd, kvd := c.H*c.hd, c.KVH*c.hd
				q, k, v := randWeights(r, c.T*qd, 1), randWeights(r, c.T*kvd, 1), randWeights(r, c.T*kvd, 1)
				p := backend.AttentionParams{Heads: c.H, KVHeads: c.KVH, HeadDim: c.hd, SeqLens: c.seqLens}
				if c.masked != nil {
					p.Valid = make([]bool, c.T)
					for i := range p.Valid {
						p.Valid[i] = true
					}
					for _, i := range c.masked {
						p.Valid[i] = false
					}
				}
				got := make([]float32, c.T*qd)
				for i := range got {
					got[i] = float32(math.NaN()) // every row must be written
				}
				out, _ := be.Upload(got, c.T, qd)
				qt, _ := be.Upload(q, c.T, qd)
				kt, _ := be.Upload(k, c.T, kvd)
				vt, _ := be.Upload(v, c.T, kvd)
				if err := be.Attention(out, qt, kt, vt, p); err != nil {
					t.Fatal(err)
				}
				if err := be.Read(out, got); err != nil {
					t.Fatal(err)
				}
				want := backendtest.RefAttention(bf16Round(q), bf16Round(k), bf16Round(v), c.T, p)
				if e := maxRelErr(got, want); e > tileAttnTol {
					t.Errorf("largest error %.3g against the bf16-rounded reference, want ≤ %g", e, tileAttnTol)
				}
				// And bf16's precision against the exact inputs.
				if e := maxRelErr(got, backendtest.RefAttention(q, k, v, c.T, p)); e > 0.05 {
					t.Errorf("largest error %.3g against the exact reference, want ≤ 0.05", e)
				}
			})
		}
	})
}

// TestTileAttentionCached is AttentionCached on the tiles against the
// full attention over the caches with the block written (backendtest's
// reference), for a block step's shape: query rows at their slots,
// sequences of keys that are not multiples of 32, masked slots.
func TestTileAttentionCached(t *testing.T) {
	withTileAttention(t, func(be *Backend) {
		const H, KVH, hd = 14, 2, 64
		qd, kvd := H*hd, KVH*hd
		kLens := []int{70, 250}
		var slots []int
		for i := range 33 {
			slots = append(slots, 30+i) // a block and the slot before it in sequence 0
		}
		for i := range 5 {
			slots = append(slots, 70+200+i)
		}
		qLens := []int{33, 5}
		Tk, Tq := 320, len(slots)
		valid := make([]bool, Tk)
		for i := range valid {
			valid[i] = i != 3 && i != 31 && i != 100
		}
		r := rand.New(rand.NewPCG(9, 9))
		q, k, v := randWeights(r, Tq*qd, 1), randWeights(r, Tq*kvd, 1), randWeights(r, Tq*kvd, 1)
		kc, vc := randWeights(r, Tk*kvd, 1), randWeights(r, Tk*kvd, 1)
		p := backend.CachedAttentionParams{Heads: H, KVHeads: KVH, HeadDim: hd, QueryLens: qLens, KeyLens: kLens, Slots: slots, Valid: valid}
		out, _ := be.Alloc(Tq, qd)
		kct, _ := be.Upload(kc, Tk, kvd)
		vct, _ := be.Upload(vc, Tk, kvd)
		qt, _ := be.Upload(q, Tq, qd)
		kt, _ := be.Upload(k, Tq, kvd)
		vt, _ := be.Upload(v, Tq, kvd)
		if err := be.AttentionCached(out, qt, kt, vt, kct, vct, p); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, Tq*qd)
		if err := be.Read(out, got); err != nil {
			t.Fatal(err)
		}
		wk, wv, fq := append([]float32(nil), kc...), append([]float32(nil), vc...), make([]float32, Tk*qd)
		for i, sl := range slots {
			copy(wk[sl*kvd:(sl+1)*kvd], k[i*kvd:(i+1)*kvd])
			copy(wv[sl*kvd:(sl+1)*kvd], v[i*kvd:(i+1)*kvd])
			copy(fq[sl*qd:(sl+1)*qd], q[i*qd:(i+1)*qd])
		}
		full := backendtest.RefAttention(bf16Round(fq), bf16Round(wk), bf16Round(wv), Tk,
			backend.AttentionParams{Heads: H, KVHeads: KVH, HeadDim: hd, SeqLens: kLens, Valid: valid})
		want := make([]float64, Tq*qd)
		for i, sl := range slots {
			copy(want[i*qd:(i+1)*qd], full[sl*qd:(sl+1)*qd])
		}
		if e := maxRelErr(got, want); e > tileAttnTol {
			t.Errorf("largest error %.3g against the bf16-rounded reference, want ≤ %g", e, tileAttnTol)
		}
	})
}

// TestTileAttentionModel runs a golden model's forward (tiny-mha-sharded:
// three heads of 32 values, so on the tiles once tileAttnGroup allows one
// head a KV head) with its attention on the tiles and off, both with the
// matmuls on the tiles: the logits stay within bf16's precision and the
// greedy tokens agree. Two sequences in one batch, padded, so the spans
// and masks reach the tiles as a model sends them.
func TestTileAttentionModel(t *testing.T) {
	withTileAttention(t, func(be *Backend) {
		dir := sharedpath.Path(t, "golden", "models", "tiny-mha-sharded")
		cfg, ck, err := model.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ck.Close()
		m, err := model.LoadWith(cfg, model.CheckpointSource(ck), be, model.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		r := rand.New(rand.NewPCG(5, 5))
		var in []model.Input
		for _, n := range []int{45, 70} {
			ids := make([]int, n)
			want := make([]int, n)
			for i := range ids {
				ids[i] = r.IntN(cfg.VocabSize)
				want[i] = i
			}
			in = append(in, model.Input{IDs: ids, Want: want})
		}
		run := func(group int) [][]float32 {
			tileAttnGroup = group
			out, err := m.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		tiles, float := run(1), run(1<<20)
		var worst, span float64
		agree, rows := 0, 0
		for s := range in {
			V := cfg.VocabSize
			for i := range len(tiles[s]) / V {
				a, b := tiles[s][i*V:(i+1)*V], float[s][i*V:(i+1)*V]
				if slices.Index(a, slices.Max(a)) == slices.Index(b, slices.Max(b)) {
					agree++
				}
				rows++
				for j := range a {
					worst = max(worst, math.Abs(float64(a[j]-b[j])))
				}
				span = max(span, float64(slices.Max(b)-slices.Min(b)))
			}
		}
		t.Logf("largest logit difference %.3g of a range of %.3g; greedy tokens agree on %d/%d rows", worst, span, agree, rows)
		if worst > 0.02*span || agree < rows*95/100 {
			t.Errorf("tile attention moved the logits %.3g (range %.3g), greedy agreement %d/%d", worst, span, agree, rows)
		}
	})
}
