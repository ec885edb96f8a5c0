package backend

import (
	"fmt"
	"math"
)

// CachedAttentionParams describes one AttentionCached call: a block of
// query rows per sequence attending to that sequence's rows of a K/V cache.
type CachedAttentionParams struct {
	Heads   int // query heads
	KVHeads int // key/value heads (GQA as in AttentionParams)
	HeadDim int
	// QueryLens splits the q (and k, v, out) rows into consecutive
	// sequences; KeyLens splits the cache rows the same way. Both have one
	// entry per sequence (a 0 query length is allowed). Nil: one sequence
	// of all rows.
	QueryLens []int
	KeyLens   []int
	// Slots[i] is the absolute cache row that receives k[i] and v[i]; it
	// must lie inside query row i's own sequence. len(Slots) = q rows.
	Slots []int
	// Valid marks the cache rows that take part (nil: all). Query row i is
	// valid iff Valid[Slots[i]]; it attends to the valid cache rows of its
	// sequence. A row with no allowed key gets an all-zero output.
	Valid []bool
}

// CachedAttention is an optional Backend extension used by the dual K/V
// cache (runtime/kvcache, model.ForwardBlocks). A backend that implements
// it gets the fast path; others go through the unfused fallback in
// AttendCached.
type CachedAttention interface {
	// AttentionCached first writes the block's fresh keys and values into
	// the caches, kCache[Slots[i],:] = k[i,:] and vCache[Slots[i],:] =
	// v[i,:], and then computes, per head, out[i] = softmax(q[i]·Kᵀ/√HeadDim)·V
	// over the cache rows K, V of query row i's sequence (bidirectional,
	// Valid as documented on CachedAttentionParams). q and out are
	// [Tq, Heads·HeadDim]; k and v are [Tq, KVHeads·HeadDim]; kCache and
	// vCache are [Tk, KVHeads·HeadDim]. out must not alias another argument.
	AttentionCached(out, q, k, v, kCache, vCache Tensor, p CachedAttentionParams) error
}

// AttendCached runs be.AttentionCached when be implements CachedAttention.
// Otherwise it falls back to a host round trip built from the core
// operations: Read q, k, v and both caches, write the block rows and
// attend on the host (float32, one goroutine), then Upload the result and
// the updated caches and copy them into place with GatherRows. The
// fallback is exact but moves the whole cache across the host boundary on
// every call; a device backend should implement CachedAttention.
func AttendCached(be Backend, out, q, k, v, kCache, vCache Tensor, p CachedAttentionParams) error {
	if ca, ok := be.(CachedAttention); ok {
		return ca.AttentionCached(out, q, k, v, kCache, vCache, p)
	}
	return attendCachedHost(be, out, q, k, v, kCache, vCache, p)
}

// CheckCachedAttention validates shapes and parameters for an
// AttentionCached call and returns the per-sequence query and key
// lengths (nil lengths expanded to one sequence).
func CheckCachedAttention(out, q, k, v, kCache, vCache Tensor, p CachedAttentionParams) (qLens, kLens []int, err error) {
	Tq, Tk := q.Rows(), kCache.Rows()
	H, KVH, hd := p.Heads, p.KVHeads, p.HeadDim
	if H <= 0 || KVH <= 0 || hd <= 0 || H%KVH != 0 ||
		q.Cols() != H*hd || out.Rows() != Tq || out.Cols() != H*hd ||
		k.Rows() != Tq || v.Rows() != Tq || k.Cols() != KVH*hd || v.Cols() != KVH*hd ||
		vCache.Rows() != Tk || kCache.Cols() != KVH*hd || vCache.Cols() != KVH*hd {
		return nil, nil, ShapeError("attention_cached", "q [%d,%d] k [%d,%d] v [%d,%d] kCache [%d,%d] vCache [%d,%d] out [%d,%d] heads %d/%d × %d",
			q.Rows(), q.Cols(), k.Rows(), k.Cols(), v.Rows(), v.Cols(), kCache.Rows(), kCache.Cols(),
			vCache.Rows(), vCache.Cols(), out.Rows(), out.Cols(), H, KVH, hd)
	}
	if out == q || out == k || out == v || out == kCache || out == vCache || kCache == vCache {
		return nil, nil, ShapeError("attention_cached", "aliased arguments")
	}
	if len(p.Slots) != Tq {
		return nil, nil, ShapeError("attention_cached", "%d slots for %d query rows", len(p.Slots), Tq)
	}
	if p.Valid != nil && len(p.Valid) != Tk {
		return nil, nil, ShapeError("attention_cached", "%d validity flags for %d cache rows", len(p.Valid), Tk)
	}
	qLens, kLens = p.QueryLens, p.KeyLens
	if qLens == nil && kLens == nil {
		qLens, kLens = []int{Tq}, []int{Tk}
	}
	if len(qLens) != len(kLens) {
		return nil, nil, ShapeError("attention_cached", "%d query sequences, %d key sequences", len(qLens), len(kLens))
	}
	qs, ks := 0, 0
	for s := range qLens {
		if qLens[s] < 0 || kLens[s] < 0 {
			return nil, nil, ShapeError("attention_cached", "negative sequence length")
		}
		for i := qs; i < qs+qLens[s] && i < Tq; i++ {
			if sl := p.Slots[i]; sl < ks || sl >= ks+kLens[s] {
				return nil, nil, ShapeError("attention_cached", "slot %d of query row %d outside its sequence's cache rows [%d,%d)", sl, i, ks, ks+kLens[s])
			}
		}
		qs += qLens[s]
		ks += kLens[s]
	}
	if qs != Tq || ks != Tk {
		return nil, nil, ShapeError("attention_cached", "sequence lengths sum to %d query / %d cache rows, want %d / %d", qs, ks, Tq, Tk)
	}
	return qLens, kLens, nil
}

func attendCachedHost(be Backend, out, q, k, v, kCache, vCache Tensor, p CachedAttentionParams) error {
	qLens, kLens, err := CheckCachedAttention(out, q, k, v, kCache, vCache, p)
	if err != nil {
		return err
	}
	read := func(t Tensor) ([]float32, error) {
		d := make([]float32, t.Rows()*t.Cols())
		if err := be.Read(t, d); err != nil {
			return nil, fmt.Errorf("attention_cached fallback: %w", err)
		}
		return d, nil
	}
	var hq, hk, hv, kc, vc []float32
	for _, x := range []struct {
		dst *[]float32
		t   Tensor
	}{{&hq, q}, {&hk, k}, {&hv, v}, {&kc, kCache}, {&vc, vCache}} {
		if *x.dst, err = read(x.t); err != nil {
			return err
		}
	}
	Tq, Tk := q.Rows(), kCache.Rows()
	kvd := kCache.Cols()
	for i, sl := range p.Slots {
		copy(kc[sl*kvd:(sl+1)*kvd], hk[i*kvd:(i+1)*kvd])
		copy(vc[sl*kvd:(sl+1)*kvd], hv[i*kvd:(i+1)*kvd])
	}
	ho := make([]float32, Tq*out.Cols())
	AttendCachedRef(ho, hq, kc, vc, qLens, kLens, p)
	put := func(dst Tensor, data []float32) error {
		tmp, err := be.Upload(data, dst.Rows(), dst.Cols())
		if err != nil {
			return fmt.Errorf("attention_cached fallback: %w", err)
		}
		defer be.Free(tmp)
		idx := make([]int, dst.Rows())
		for i := range idx {
			idx[i] = i
		}
		if err := be.GatherRows(dst, tmp, idx); err != nil {
			return fmt.Errorf("attention_cached fallback: %w", err)
		}
		return nil
	}
	if Tk > 0 {
		if err := put(kCache, kc); err != nil {
			return err
		}
		if err := put(vCache, vc); err != nil {
			return err
		}
	}
	if Tq > 0 {
		return put(out, ho)
	}
	return nil
}

// AttendCachedRef is the host reference of AttentionCached's attention
// part (after the cache rows were written): out, q are row-major
// [Tq, Heads·HeadDim], kc, vc are [Tk, KVHeads·HeadDim]. qLens and kLens
// must be expanded (non-nil). Used by the fallback and by tests.
func AttendCachedRef(out, q, kc, vc []float32, qLens, kLens []int, p CachedAttentionParams) {
	H, KVH, hd := p.Heads, p.KVHeads, p.HeadDim
	qd, kvd := H*hd, KVH*hd
	group := H / KVH
	scale := float32(1 / math.Sqrt(float64(hd)))
	var scores []float32
	qs, ks := 0, 0
	for s := range qLens {
		L := kLens[s]
		if cap(scores) < L {
			scores = make([]float32, L)
		}
		sc := scores[:L]
		for i := qs; i < qs+qLens[s]; i++ {
			orow := out[i*qd : (i+1)*qd]
			clear(orow)
			if p.Valid != nil && !p.Valid[p.Slots[i]] {
				continue
			}
			for h := range H {
				g := h / group
				qh := q[i*qd+h*hd : i*qd+(h+1)*hd]
				m := float32(math.Inf(-1))
				for j := range L {
					if p.Valid != nil && !p.Valid[ks+j] {
						sc[j] = float32(math.Inf(-1))
						continue
					}
					kr := kc[(ks+j)*kvd+g*hd : (ks+j)*kvd+(g+1)*hd]
					var d float32
					for x := range hd {
						d += qh[x] * kr[x]
					}
					sc[j] = d * scale
					m = max(m, sc[j])
				}
				if math.IsInf(float64(m), -1) {
					continue
				}
				var sum float32
				for j := range sc {
					if math.IsInf(float64(sc[j]), -1) {
						sc[j] = 0
						continue
					}
					sc[j] = float32(math.Exp(float64(sc[j] - m)))
					sum += sc[j]
				}
				oh := orow[h*hd : (h+1)*hd]
				for j, w := range sc {
					if w == 0 {
						continue
					}
					w /= sum
					vr := vc[(ks+j)*kvd+g*hd : (ks+j)*kvd+(g+1)*hd]
					for x := range hd {
						oh[x] += w * vr[x]
					}
				}
			}
		}
		qs += qLens[s]
		ks += L
	}
}
