package denoise_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/goldentest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// TestCachedBlockwiseMatchesUncached: with confidence_threshold blocks,
// refreshing every step replays the uncached run exactly; the block policy
// (refresh only when the active block changes) finishes every canvas,
// keeps pinned slots and agrees with the uncached run on most tokens
// (logged; the floor catches a broken block path, which agrees on almost
// none on these random models).
func TestCachedBlockwiseMatchesUncached(t *testing.T) {
	root := sharedpath.Path(t, "golden", "models")
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded", "tiny-qwen-vocab"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			cases := goldentest.ReadTraces(t, dir, 0)
			if len(cases) == 0 {
				t.Fatal("no generate cases")
			}
			rec := &countingModel{Model: loadModel(t, dir)}
			mask := rec.Config().MaskTokenID
			agree, total, blockSteps := 0, 0, 0
			for n, c := range cases {
				req := denoise.Request{
					Canvases: [][]int{c.InputIDs},
					Steps:    c.Steps,
					Sampler:  sampler.Options{Alg: sampler.ConfidenceThreshold, BlockSize: 4, Temperature: c.Temperature, Eps: c.Eps},
				}
				plain, err := denoise.Run(context.Background(), rec.Model, req)
				if err != nil {
					t.Fatalf("case %d uncached: %v", n, err)
				}
				req.Cache = denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: 1, Blocks: true}}
				rec.prefills, rec.calls = 0, nil
				every, err := denoise.Run(context.Background(), rec, req)
				if err != nil {
					t.Fatalf("case %d refresh 1: %v", n, err)
				}
				if len(rec.calls) != 0 {
					t.Fatalf("case %d: refresh every step ran %d block passes", n, len(rec.calls))
				}
				if !slices.Equal(every.Canvases[0], plain.Canvases[0]) || !slices.Equal(every.Confidence[0], plain.Confidence[0]) {
					t.Fatalf("case %d: refresh every step\n got %v\nwant %v", n, every.Canvases[0], plain.Canvases[0])
				}
				req.Cache.Policy = kvcache.Policy{Refresh: -1, Blocks: true}
				rec.prefills, rec.calls = 0, nil
				res, err := denoise.Run(context.Background(), rec, req)
				if err != nil {
					t.Fatalf("case %d block policy: %v", n, err)
				}
				blockSteps += len(rec.calls)
				a, tot := finishedAgreement(t, n, c.InputIDs, res, c.Steps, mask, plain.Canvases[0])
				agree, total = agree+a, total+tot
			}
			t.Logf("%s: block policy agrees with the uncached blockwise run on %d/%d tokens (%d block steps)", name, agree, total, blockSteps)
			if blockSteps == 0 {
				t.Error("the block policy ran no block step")
			}
			if agree*2 < total {
				t.Errorf("block policy agrees on %d/%d tokens, want at least half", agree, total)
			}
		})
	}
}

// TestCachedBlockwiseComputesActiveBlock: a block step recomputes only
// the active block's rows (one slot before its first mask to its last)
// and asks for its masks' logits only; the cache refreshes once per
// block. Without blocks, or with Policy.Blocks off, the block step spans
// every mask.
func TestCachedBlockwiseComputesActiveBlock(t *testing.T) {
	const M, bs = 299, 4
	row := []int{5, 6, M, M, M, M, M, M, M, M, M, M, M, M, 9, 10} // masks at 2..13: blocks 2-5, 6-9, 10-13
	blockOf := func(p int) int { return (p - 2) / bs }
	rec := &countingModel{Model: loadModel(t, sharedpath.Path(t, "golden", "models", "tiny-gqa"))}
	run := func(blockSize int, blocks bool) *denoise.Result {
		t.Helper()
		rec.prefills, rec.calls = 0, nil
		res, err := denoise.Run(context.Background(), rec, denoise.Request{
			Canvases: [][]int{row}, Steps: 12,
			Sampler: sampler.Options{Alg: sampler.ConfidenceThreshold, BlockSize: blockSize},
			Cache:   denoise.CacheOptions{Enabled: true, Policy: kvcache.Policy{Refresh: -1, Blocks: blocks}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(res.Canvases[0], M) {
			t.Fatalf("block size %d: masks left: %v", blockSize, res.Canvases[0])
		}
		return res
	}
	res := run(bs, true)
	if rec.prefills != 3 || len(rec.calls) != res.Steps-3 {
		t.Errorf("%d full and %d block passes in %d steps, want 3 (one per block) and %d", rec.prefills, len(rec.calls), res.Steps, res.Steps-3)
	}
	rows := 0
	for i, call := range rec.calls {
		b := call[0]
		if len(call) != 1 || len(b.Want) == 0 {
			t.Fatalf("block pass %d: %+v", i, call)
		}
		blk := blockOf(b.Want[0])
		for _, p := range b.Want {
			if blockOf(p) != blk {
				t.Errorf("block pass %d asks for position %d outside block %d: want %v", i, p, blk, b.Want)
			}
		}
		if lo, hi := 2+bs*blk-1, 2+bs*blk+bs; b.Start < lo || b.Start+len(b.IDs) > hi {
			t.Errorf("block pass %d computes rows [%d,%d), outside block %d's [%d,%d)", i, b.Start, b.Start+len(b.IDs), blk, lo, hi)
		}
		rows += len(b.IDs)
	}
	whole := run(-1, true) // one block: the block step spans every mask left at the refresh
	wholeRows := 0
	for _, call := range rec.calls {
		wholeRows += len(call[0].IDs)
	}
	if rec.prefills != 1 || len(rec.calls) == 0 || len(rec.calls[0][0].IDs) != 13 {
		t.Errorf("no blocks: %d full passes, block passes %d (first %d rows), want 1 and 13 rows", rec.prefills, len(rec.calls), len(rec.calls[0][0].IDs))
	}
	run(bs, false) // blocks in the sampler, Policy.Blocks off: as before
	if rec.prefills != 1 || len(rec.calls) == 0 || len(rec.calls[0][0].IDs) != 13 {
		t.Errorf("Policy.Blocks off: %d full passes, %d block passes, want 1 and a 13-row block", rec.prefills, len(rec.calls))
	}
	t.Logf("block rows: blockwise %d over %d block steps, whole row %d over %d", rows, res.Steps-3, wholeRows, whole.Steps-1)
	if rows*len(rec.calls) >= wholeRows*(res.Steps-3) {
		t.Errorf("blockwise block steps average %d rows over %d, not fewer than the whole row's %d over %d", rows, res.Steps-3, wholeRows, len(rec.calls))
	}
}
