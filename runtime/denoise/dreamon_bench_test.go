package denoise_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// biased scripts the edits of a DreamOn run on a random model (whose
// weights alone rarely pick expand or delete): on the forward calls listed
// in expandAt it adds 20 to the expand logit, on those in deleteAt to the
// delete logit. The cost of the passes is the model's.
type biased struct {
	*model.Model
	expand, del        int
	expandAt, deleteAt []int
	calls              *int
}

func (b biased) add(out [][]float32) [][]float32 {
	v := b.Config().VocabSize
	for _, row := range out {
		for i := 0; i+v <= len(row); i += v {
			if slices.Contains(b.expandAt, *b.calls) {
				row[i+b.expand] += 20
			}
			if slices.Contains(b.deleteAt, *b.calls) {
				row[i+b.del] += 20
			}
		}
	}
	*b.calls++
	return out
}

func (b biased) Forward(in []model.Input) ([][]float32, error) {
	out, err := b.Model.Forward(in)
	return b.add(out), err
}

func (b biased) Prefill(c *kvcache.Cache, in []model.Input) ([][]float32, error) {
	out, err := b.Model.Prefill(c, in)
	return b.add(out), err
}

func (b biased) ForwardBlocks(c *kvcache.Cache, bl []model.Block) ([][]float32, error) {
	out, err := b.Model.ForwardBlocks(c, bl)
	return b.add(out), err
}

// BenchmarkDreamOnCacheCost measures DreamOn's loop on the synthetic ~30M
// config with a 256-token canvas (BOS, 200 prefix, 4 masks, 50 suffix,
// EOS; cap 16 new tokens): steps 0-5 expand, steps 10 and 11 delete, the
// other steps commit tokens, under each cache policy: CPU time per run,
// forward passes by kind, edits, and whether the middle equals the
// uncached one.
//
//	go test ./runtime/denoise -run '^$' -bench DreamOnCacheCost -benchtime 2x
func BenchmarkDreamOnCacheCost(b *testing.B) {
	cfg := model.BenchConfig()
	m, err := model.Load(cfg, model.RandomSource(cfg, 1), cpu.New(0))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	const expand = 6140
	calls := 0
	bm := biased{Model: m, expand: expand, del: cfg.EOSTokenID, expandAt: []int{0, 1, 2, 3, 4, 5}, deleteAt: []int{10, 11}, calls: &calls}
	ids := infillCanvas(cfg, 250, 0)
	canvas := slices.Concat([]int{cfg.BOSTokenID}, ids[:200], []int{cfg.MaskTokenID, cfg.MaskTokenID, cfg.MaskTokenID, cfg.MaskTokenID}, ids[200:250], []int{cfg.EOSTokenID})
	req := denoise.Request{
		Canvases: [][]int{canvas},
		Sampler:  sampler.Options{Alg: sampler.Entropy, TopP: 0.9},
		DreamOn:  &denoise.DreamOnOptions{ExpandTokenID: expand, DeleteTokenID: cfg.EOSTokenID, MaxNewTokens: 16},
	}
	ref, err := denoise.Run(context.Background(), bm, req)
	if d := ref.DreamOn; err == nil && (d.Expansions != 6 || d.Deletions != 2) {
		b.Fatalf("scripted run: %d expansions, %d deletions; want 6 and 2", d.Expansions, d.Deletions)
	}
	if err != nil {
		b.Fatal(err)
	}
	middle := func(r *denoise.Result) []int {
		return r.Canvases[0][r.DreamOn.MiddleStart : r.DreamOn.MiddleStart+r.DreamOn.MiddleLen]
	}
	for _, p := range dreamonPolicies {
		b.Run(fmt.Sprintf("tokens=256/%s", p.name), func(b *testing.B) {
			req := req
			req.Cache = p.cache
			var res *denoise.Result
			c0 := cpuSeconds()
			for b.Loop() {
				calls = 0
				if res, err = denoise.Run(context.Background(), bm, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuSeconds()-c0)*1000/float64(b.N), "cpu-ms/op")
			d := res.DreamOn
			b.ReportMetric(float64(res.Steps), "steps")
			b.ReportMetric(float64(d.Expansions), "expand")
			b.ReportMetric(float64(d.Deletions), "delete")
			b.ReportMetric(float64(d.Cache.Full), "full")
			b.ReportMetric(float64(d.Cache.Partial), "partial")
			b.ReportMetric(float64(d.Cache.Block), "block")
			same := 0.0
			if slices.Equal(middle(res), middle(ref)) {
				same = 1
			}
			b.ReportMetric(same, "same-middle")
		})
	}
}
