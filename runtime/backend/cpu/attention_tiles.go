package cpu

import (
	"math"
	"slices"
	"unsafe"
)

// Attention on the AMX tiles. With SetBF16Matmul on, every matmul's
// activations are rounded to bf16 and multiplied on the tiles; a head's
// S = Q·Kᵀ and O = P·V are products of the same kind, which the float32
// kernels took 9–13 % of a 0.5B-shaped forward to do. Here Q, K, the
// attention weights P and V are rounded to bf16 too (PyTorch's bf16
// attention rounds the same four), the sums stay float32 tile
// accumulations, and the softmax between them is the float32 one
// (softmaxRow). K and Vᵀ are rounded and laid out as amxMM's B tiles once
// a call per KV head, so the heads sharing them pay for that once.

// tileAttnGroup is the fewest query heads per KV head for which attention
// runs on the tiles (a variable so tests can take smaller models there):
// nnScoresGroup's reasoning, and it keeps the built-in model (2 heads a
// KV head, 48 values a head) on the float32 sums its held-out results
// were measured with.
var tileAttnGroup = nnScoresGroup

// tileAttention reports whether attention with these heads runs on the
// tiles: SetBF16Matmul on, heads of whole 32-value chunks, and enough
// query heads to share each KV head's layout.
func (b *Backend) tileAttention(H, KVH, hd int) bool {
	return b.bf16 && hd > 0 && hd%32 == 0 && KVH > 0 && H >= tileAttnGroup*KVH
}

// tileQBlock is the query rows of one tile attention task: two 32-row
// tile blocks, so a task's scores are 64 rows of the span's keys.
const tileQBlock = 64

// kvTiles holds one key span's K and Vᵀ per KV head in amxMM's B-tile
// layout (amxPacked's, bf16): keys padded with zeros to a multiple of 32.
type kvTiles struct {
	lo, n, npad int        // the span's first key, its keys, rounded up to 32
	k, v        [][]uint16 // per KV head: [npad keys × hd], [hd × npad keys]
	bufs        []*[]uint16
}

// packKVTiles rounds the keys and values of the span [lo, hi) of k and v
// (rows KVH·hd values apart) to bf16 in tile layout, one KV head a task.
func (b *Backend) packKVTiles(k, v []float32, KVH, hd, lo, hi int) *kvTiles {
	n := hi - lo
	kt := &kvTiles{lo: lo, n: n, npad: (n + 31) &^ 31, k: make([][]uint16, KVH), v: make([][]uint16, KVH)}
	size := kt.npad * hd
	for g := range KVH {
		kb, kp := pooled(size)
		vb, vp := pooled(size)
		kt.k[g], kt.v[g] = kb, vb
		kt.bufs = append(kt.bufs, kp, vp)
	}
	kvd := KVH * hd
	b.parallel(KVH, 1, func(g0, g1 int) {
		row, rp := pooled(16 * hd)
		defer bf16Pool.Put(rp)
		for g := g0; g < g1; g++ {
			packKeys(kt.k[g], k[lo*kvd+g*hd:], kvd, n, kt.npad, hd, row)
			packValues(kt.v[g], v[lo*kvd+g*hd:], kvd, n, kt.npad, hd, row[:2*hd])
		}
	})
	return kt
}

// release returns the layouts to bf16Pool.
func (kt *kvTiles) release() {
	for _, p := range kt.bufs {
		bf16Pool.Put(p)
	}
}

// packKeys writes n keys (src rows ld apart, hd values each) as the B
// operand of S = Q·Kᵀ: the keys are the output columns, hd the K
// dimension. A block of 16 keys is their bf16 pairs transposed
// (transpose16): tile (j/16, d/32) row (d%32)/2 holds, for each of the 16
// keys, the pair d, d+1. Keys n…npad−1 are zero. rows is 16·hd of
// scratch.
func packKeys(dst []uint16, src []float32, ld, n, npad, hd int, rows []uint16) {
	d32 := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)/2)
	r32 := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(rows))), 8*hd)
	for j0 := 0; j0 < npad; j0 += 16 {
		for i := range 16 {
			if j := j0 + i; j < n {
				cvtBF16(&rows[i*hd], &src[j*ld], hd)
			} else {
				clear(rows[i*hd : (i+1)*hd])
			}
		}
		transpose16(&d32[j0*hd/2], &r32[0], hd/2, hd/2)
	}
}

// packValues writes n values' rows (src rows ld apart, hd values each) as
// the B operand of O = P·V: hd is the output columns, the keys the K
// dimension. Tile (i/16, j/32) row (j%32)/2 holds, for each of the 16
// columns i, keys j and j+1; keys n…npad−1 are zero. row is 2·hd of
// scratch.
func packValues(dst []uint16, src []float32, ld, n, npad, hd int, row []uint16) {
	chunks := npad / 32
	d32 := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)/2)
	a, c := row[:hd], row[hd:2*hd]
	for j := 0; j < npad; j += 2 {
		switch {
		case j+1 < n:
			cvtBF16(&row[0], &src[j*ld], hd)
			cvtBF16(&row[hd], &src[(j+1)*ld], hd)
		case j < n:
			cvtBF16(&row[0], &src[j*ld], hd)
			clear(c)
		default:
			clear(row)
		}
		off := j/32*256 + (j%32)/2*16
		for ib := range hd / 16 {
			t := d32[ib*chunks*256+off:][:16]
			ai, ci := a[ib*16:][:16], c[ib*16:][:16]
			for i := range 16 {
				t[i] = uint32(ai[i]) | uint32(ci[i])<<16
			}
		}
	}
}

// tileHead is one attention task on the tiles: rows query rows, each hd
// values at q[offs[i]:], against the span kt's keys of KV head g; out's
// rows at the same offsets (rows of out ldo apart) get
// softmax(scale·q·Kᵀ)·V. The rows may come
// from several heads of the group (they share K and V), which fills the
// 32-row tile blocks a block step's 33 rows a head would leave half
// empty. rowOK[i] false gives row i zeros; valid marks the keys (nil:
// all), indexed from the span's first key as softmaxRow does.
func tileHead(out, q []float32, ldo int, offs []int, rowOK []bool, kt *kvTiles, g, hd int, valid []bool, scale float32) {
	rows := len(offs)
	rpad, npad := (rows+31)&^31, kt.npad
	qb, qp := pooled(rpad * hd)
	defer bf16Pool.Put(qp)
	for r, off := range offs {
		cvtBF16(&qb[r*hd], &q[off], hd)
	}
	clear(qb[rows*hd:])
	sp := getScratch(rpad * max(npad, hd))
	defer putScratch(sp)
	s := (*sp)[:rpad*npad]
	kc := hd / 32
	for jb := range npad / 32 {
		mmBF16(&amxTileCfg, &qb[0], 2*hd, &kt.k[g][2*jb*kc*512], &kt.k[g][(2*jb+1)*kc*512], kc, &s[jb*32], 4*npad, rpad/32, nil, nil, 0, 0)
	}
	for r := range rpad {
		srow := s[r*npad : (r+1)*npad]
		if r >= rows || !rowOK[r] {
			clear(srow)
			continue
		}
		// Columns past the keys hold q·0 = 0 and meet zero rows of Vᵀ.
		softmaxRow(srow[:kt.n], scale, valid, kt.lo)
	}
	pb, pp := pooled(rpad * npad)
	defer bf16Pool.Put(pp)
	cvtBF16(&pb[0], &s[0], rpad*npad)
	o := (*sp)[:rpad*hd] // the scores are spent: P holds them
	vc := npad / 32
	for rb := 0; rb < rpad; rb += 32 {
		// A block of 32 rows of one head, one after another in out, is
		// written in place; others go through o.
		dst, ld := &o[rb*hd], hd
		if direct := rb+32 <= rows && offs[rb+31]-offs[rb] == 31*ldo; direct {
			for i := rb + 1; i < rb+32 && direct; i++ {
				direct = offs[i]-offs[i-1] == ldo
			}
			if direct {
				dst, ld = &out[offs[rb]], ldo
			}
		}
		for cb := range hd / 32 {
			mmBF16(&amxTileCfg, &pb[rb*npad], 2*npad, &kt.v[g][2*cb*vc*512], &kt.v[g][(2*cb+1)*vc*512], vc,
				(*float32)(unsafe.Add(unsafe.Pointer(dst), 4*32*cb)), 4*ld, 1, nil, nil, 0, 0)
		}
		if ld == hd {
			for r := rb; r < min(rb+32, rows); r++ {
				copy(out[offs[r]:offs[r]+hd], o[r*hd:(r+1)*hd])
			}
		}
	}
}

// attnSpan is one sequence's query rows [q0, q1) and keys [k0, k1).
type attnSpan struct{ q0, q1, k0, k1 int }

// attendTiles runs attention for spans on the tiles: o's query rows
// (H·hd values each) from q's, against the keys and values of k and v
// (rows KVH·hd values apart). rowValid(t) false gives query row t zeros;
// valid marks the keys (nil: all), softmaxRow's convention. A task is
// tileQBlock rows of one span and KV head group, the group's heads one
// after another.
func (b *Backend) attendTiles(o, q, k, v []float32, H, KVH, hd int, spans []attnSpan, rowValid func(t int) bool, valid []bool) {
	kvs := make([]*kvTiles, len(spans))
	for i, sp := range spans {
		kvs[i] = b.packKVTiles(k, v, KVH, hd, sp.k0, sp.k1)
		defer kvs[i].release()
	}
	group := H / KVH
	qd := H * hd
	type task struct {
		span, g int
		offs    []int
		ok      []bool
	}
	var tasks []task
	for i, sp := range spans {
		n := group * (sp.q1 - sp.q0)
		offs, ok := make([]int, 0, n), make([]bool, 0, n)
		for h := range H {
			for t := sp.q0; t < sp.q1; t++ {
				offs = append(offs, t*qd+h*hd)
				ok = append(ok, rowValid(t))
			}
			if (h+1)%group == 0 {
				for r := 0; r < len(offs); r += tileQBlock {
					e := min(r+tileQBlock, len(offs))
					tasks = append(tasks, task{i, h / group, offs[r:e], ok[r:e]})
				}
				offs, ok = make([]int, 0, n), make([]bool, 0, n)
			}
		}
	}
	// Largest first, as sortLargestFirst, so no long task ends the call alone.
	slices.SortStableFunc(tasks, func(a, c task) int {
		return len(c.offs)*kvs[c.span].n - len(a.offs)*kvs[a.span].n
	})
	scale := float32(1 / math.Sqrt(float64(hd)))
	b.parallelTasks(len(tasks), func(n int) {
		tk := tasks[n]
		tileHead(o, q, qd, tk.offs, tk.ok, kvs[tk.span], tk.g, hd, valid, scale)
	})
}
