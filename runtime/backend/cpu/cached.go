package cpu

import (
	"math"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// AttentionCached implements backend.CachedAttention: the block's K/V rows
// are written into the caches, then each query row attends to its
// sequence's cache rows, one task per (sequence, head, 48 query rows) as
// in Attention.
func (b *Backend) AttentionCached(out, q, k, v, kCache, vCache backend.Tensor, p backend.CachedAttentionParams) error {
	var ts [6]*tensor
	for i, x := range []backend.Tensor{out, q, k, v, kCache, vCache} {
		t, err := own("attention_cached", x)
		if err != nil {
			return err
		}
		ts[i] = t
	}
	o, qt, kt, vt, kc, vc := ts[0], ts[1], ts[2], ts[3], ts[4], ts[5]
	qLens, kLens, err := backend.CheckCachedAttention(out, q, k, v, kCache, vCache, p)
	if err != nil {
		return err
	}
	H, KVH, hd := p.Heads, p.KVHeads, p.HeadDim
	kvd, qd := KVH*hd, H*hd
	Tk := kc.rows
	for i, sl := range p.Slots {
		copy(kc.data[sl*kvd:(sl+1)*kvd], kt.data[i*kvd:(i+1)*kvd])
		copy(vc.data[sl*kvd:(sl+1)*kvd], vt.data[i*kvd:(i+1)*kvd])
	}
	var spans []attnSpan
	qs, ks := 0, 0
	for s := range qLens {
		if qLens[s] > 0 && kLens[s] > 0 {
			spans = append(spans, attnSpan{qs, qs + qLens[s], ks, ks + kLens[s]})
		} else if qLens[s] > 0 {
			for i := qs; i < qs+qLens[s]; i++ {
				clear(o.data[i*qd : (i+1)*qd])
			}
		}
		qs += qLens[s]
		ks += kLens[s]
	}
	if b.tileAttention(H, KVH, hd) {
		b.attendTiles(o.data, qt.data, kc.data, vc.data, H, KVH, hd, spans,
			func(t int) bool { return p.Valid == nil || p.Valid[p.Slots[t]] }, p.Valid)
		return nil
	}
	// Vᵀ per KV head over the sequences that have queries, [hd, Tk], unless
	// P·V runs on the broadcast kernels (Attention).
	direct := useBcast && hd%16 == 0
	keys := make([][2]int, len(spans))
	for i, sp := range spans {
		keys[i] = [2]int{sp.k0, sp.k1}
	}
	var vT []float32
	if !direct {
		vTp := getScratch(KVH * hd * Tk)
		defer putScratch(vTp)
		vT = *vTp
		b.headsT(vT, vc.data, KVH, hd, Tk, keys)
	}
	kT, ldk := b.keysT(kc.data, H, KVH, hd, Tk, keys)
	if kT != nil {
		defer putScratch(kT)
	}
	var tasks []attnTask
	for _, sp := range spans {
		tasks = appendAttnTasks(tasks, H, sp.q0, sp.q1, sp.k0, sp.k1)
	}
	sortLargestFirst(tasks)
	group := H / KVH
	scale := float32(1 / math.Sqrt(float64(hd)))
	b.parallelTasks(len(tasks), func(n int) {
		tk := tasks[n]
		g := tk.h / group
		rows, L := tk.t1-tk.t0, tk.hi-tk.lo
		scores, ld, sp := headScores(qt.data[tk.t0*qd+tk.h*hd:], qd, kc.data[tk.lo*kvd+g*hd:], kvd, kT, ldk, g, hd, tk.lo, rows, L)
		defer putScratch(sp)
		for r := range rows {
			srow := scores[r*ld : r*ld+L]
			if p.Valid != nil && !p.Valid[p.Slots[tk.t0+r]] {
				clear(srow)
				continue
			}
			softmaxRow(srow, scale, p.Valid, tk.lo)
		}
		if direct {
			gemmNN(o.data[tk.t0*qd+tk.h*hd:], qd, scores, ld, vc.data[tk.lo*kvd+g*hd:], kvd, rows, hd, L)
		} else {
			gemmNT(o.data[tk.t0*qd+tk.h*hd:], qd, scores, ld, vT[g*hd*Tk+tk.lo:], Tk, rows, hd, L)
		}
	})
	return nil
}
