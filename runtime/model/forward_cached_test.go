package model_test

import (
	"math"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// hiddenBackend hides cpu's CachedAttention so AttendCached takes the fallback.
type hiddenBackend struct{ backend.Backend }

func smallConfig() model.Config {
	cfg := model.BenchConfig()
	cfg.HiddenSize, cfg.IntermediateSize, cfg.NumLayers = 64, 128, 3
	cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim = 4, 2, 16
	cfg.VocabSize, cfg.MaskTokenID, cfg.BOSTokenID, cfg.EOSTokenID, cfg.PadTokenID = 300, 299, 297, 298, 298
	cfg.EOSTokenIDs = []int{298}
	return cfg
}

func loadSmall(t *testing.T, be backend.Backend) *model.Model {
	t.Helper()
	cfg := smallConfig()
	m, err := model.Load(cfg, model.RandomSource(cfg, 7), be)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func maxRelDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i]))/(1+math.Abs(float64(b[i]))))
	}
	return d
}

// canvas returns a canvas of n tokens whose slots [lo,hi) are masks.
func canvas(n, lo, hi, seed int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i*37 + seed*11) % 290
		if i >= lo && i < hi {
			ids[i] = 299
		}
	}
	return ids
}

func TestPrefillMatchesForwardAndBlocksMatchUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name string
		be   backend.Backend
	}{{"native", cpu.New(2)}, {"fallback", hiddenBackend{cpu.New(2)}}} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadSmall(t, tc.be)
			a, b, c := canvas(40, 10, 18, 1), canvas(25, 0, 5, 2), canvas(30, 20, 30, 3)
			valid := make([]bool, 30)
			for i := range valid {
				valid[i] = i >= 3 // left padding in the third canvas
			}
			in := []model.Input{
				{IDs: a, Want: []int{10, 11, 12, 13, 14, 15, 16, 17}},
				{IDs: b, Want: []int{0, 1, 2, 3, 4}},
				{IDs: c, Valid: valid, Positions: slices.Collect(func(yield func(int) bool) {
					for i := range 30 {
						if !yield(max(i-3, 0)) {
							return
						}
					}
				}), Want: []int{20, 25, 29}},
			}
			want, err := m.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			cache := m.NewCache()
			defer cache.Free()
			got, err := m.Prefill(cache, in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Fatalf("Prefill logits of canvas %d differ from Forward", i)
				}
			}
			blocks := []model.Block{
				{Seq: 0, Start: 9, IDs: a[9:18], Want: in[0].Want},
				{Seq: 1, Start: 0, IDs: b[0:5], Want: in[1].Want},
				{Seq: 2, Start: 19, IDs: c[19:30], Want: in[2].Want},
			}
			bl, err := m.ForwardBlocks(cache, blocks)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if d := maxRelDiff(bl[i], want[i]); d > 1e-5 {
					t.Errorf("canvas %d: block logits differ from the full forward by %.2g", i, d)
				}
			}
			// A subset of sequences (canvas 1 finished) still reads its own cache rows.
			bl, err = m.ForwardBlocks(cache, []model.Block{blocks[0], blocks[2]})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxRelDiff(bl[1], want[2]); d > 1e-5 {
				t.Errorf("subset: block logits differ from the full forward by %.2g", d)
			}
			// A changed block token changes the block's logits.
			a2 := slices.Clone(a)
			a2[12] = 5
			bl, err = m.ForwardBlocks(cache, []model.Block{{Seq: 0, Start: 9, IDs: a2[9:18], Want: []int{11, 13}}})
			if err != nil {
				t.Fatal(err)
			}
			if maxRelDiff(bl[0][300:600], want[0][3*300:4*300]) < 1e-6 {
				t.Error("changing a block token left the next slot's logits unchanged")
			}
		})
	}
}

func TestForwardBlocksRejectsBadInput(t *testing.T) {
	m := loadSmall(t, cpu.New(1))
	cache := m.NewCache()
	if _, err := m.ForwardBlocks(cache, []model.Block{{Seq: 0, Start: 0, IDs: []int{1}}}); err == nil {
		t.Error("ForwardBlocks on an empty cache: no error")
	}
	ids := canvas(10, 4, 6, 0)
	if _, err := m.Prefill(cache, []model.Input{{IDs: ids}}); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]model.Block{
		"want outside block": {{Seq: 0, Start: 4, IDs: ids[4:6], Want: []int{4}}},
		"rows past canvas":   {{Seq: 0, Start: 8, IDs: ids[0:4]}},
		"bad sequence":       {{Seq: 1, Start: 0, IDs: ids[0:2]}},
		"bad token":          {{Seq: 0, Start: 0, IDs: []int{-1}}},
		"empty block":        {{Seq: 0, Start: 0}},
	} {
		if _, err := m.ForwardBlocks(cache, b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestReuseSameCanvas: an unchanged canvas served from the rows an
// earlier Prefill left (kept prefix, recomputed rest) gives the full
// forward's logits.
func TestReuseSameCanvas(t *testing.T) {
	m := loadSmall(t, cpu.New(2))
	ids := canvas(48, 30, 38, 4)
	want, err := m.Forward([]model.Input{{IDs: ids, Want: []int{30, 35, 37}}})
	if err != nil {
		t.Fatal(err)
	}
	cache := m.NewCache()
	defer cache.Free()
	if _, err := m.Prefill(cache, []model.Input{{IDs: ids}}); err != nil {
		t.Fatal(err)
	}
	keep := min(cache.Reuse(ids), 29)
	if keep != 29 {
		t.Fatalf("Reuse = %d, want the whole canvas clipped to 29", keep)
	}
	pos := make([]int, len(ids))
	for i := range pos {
		pos[i] = i
	}
	if err := cache.Relayout(keep, len(ids), pos, nil); err != nil {
		t.Fatal(err)
	}
	got, err := m.ForwardBlocks(cache, []model.Block{{Seq: 0, Start: keep, IDs: ids[keep:], Want: []int{30, 35, 37}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(got[0], want[0]); d > 1e-5 {
		t.Errorf("reused-prefix logits differ from the full forward by %.2g", d)
	}
	if tk := cache.Tokens(); !slices.Equal(tk, ids) {
		t.Errorf("cache tokens %v, want the canvas", tk)
	}
}
