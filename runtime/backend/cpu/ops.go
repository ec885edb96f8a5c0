package cpu

import (
	"math"
	"slices"
	"sync"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// Embed implements backend.Backend.
func (b *Backend) Embed(out, table backend.Tensor, ids []int) error {
	o, err := own("embed", out)
	if err != nil {
		return err
	}
	ww, stored, err := checkWeight("embed", table)
	if err != nil {
		return err
	}
	if o.rows != len(ids) || o.cols != table.Cols() {
		return backend.ShapeError("embed", "out [%d,%d] for %d ids of width %d", o.rows, o.cols, len(ids), table.Cols())
	}
	for i, id := range ids {
		if id < 0 || id >= table.Rows() {
			return backend.ShapeError("embed", "id %d at %d outside [0,%d)", id, i, table.Rows())
		}
	}
	if stored {
		embedW(o.data, ww, ids)
		return nil
	}
	tt, err := own("embed", table)
	if err != nil {
		return err
	}
	d := tt.cols
	for i, id := range ids {
		copy(o.data[i*d:(i+1)*d], tt.data[id*d:(id+1)*d])
	}
	return nil
}

// GatherRows implements backend.Backend.
func (b *Backend) GatherRows(out, x backend.Tensor, rows []int) error {
	o, err := own("gather", out)
	if err != nil {
		return err
	}
	xt, err := own("gather", x)
	if err != nil {
		return err
	}
	if o.rows != len(rows) || o.cols != xt.cols {
		return backend.ShapeError("gather", "out [%d,%d] for %d rows of width %d", o.rows, o.cols, len(rows), xt.cols)
	}
	if o == xt {
		return backend.ShapeError("gather", "out aliases x")
	}
	d := xt.cols
	for i, r := range rows {
		if r < 0 || r >= xt.rows {
			return backend.ShapeError("gather", "row %d outside [0,%d)", r, xt.rows)
		}
		copy(o.data[i*d:(i+1)*d], xt.data[r*d:(r+1)*d])
	}
	return nil
}

// RMSNorm implements backend.Backend. The sum of squares is accumulated in
// float64.
func (b *Backend) RMSNorm(out, x, weight backend.Tensor, eps float32) error {
	o, err := own("rmsnorm", out)
	if err != nil {
		return err
	}
	xt, err := own("rmsnorm", x)
	if err != nil {
		return err
	}
	wt, err := own("rmsnorm", weight)
	if err != nil {
		return err
	}
	d := xt.cols
	if o.rows != xt.rows || o.cols != d || wt.rows*wt.cols != d {
		return backend.ShapeError("rmsnorm", "out [%d,%d], x [%d,%d], weight [%d,%d]", o.rows, o.cols, xt.rows, d, wt.rows, wt.cols)
	}
	w := wt.data[:d]
	b.parallel(xt.rows, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr := xt.data[i*d : (i+1)*d]
			or := o.data[i*d : (i+1)*d]
			var ss float64
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
			scale := float32(1 / math.Sqrt(ss/float64(d)+float64(eps)))
			j0 := 0
			if haveVecOps && d >= 8 {
				j0 = d &^ 7
				scaleMulVec(&or[0], &xr[0], &w[0], j0, scale)
			}
			for j := j0; j < d; j++ {
				or[j] = xr[j] * scale * w[j]
			}
		}
	})
	return nil
}

// RoPE implements backend.Backend. Angles and their sines and cosines are
// computed in float64 and rounded once.
func (b *Backend) RoPE(x backend.Tensor, heads, headDim int, positions []int, theta float64) error {
	xt, err := own("rope", x)
	if err != nil {
		return err
	}
	if headDim <= 0 || headDim%2 != 0 || heads <= 0 || xt.cols != heads*headDim || len(positions) != xt.rows || !(theta > 0) {
		return backend.ShapeError("rope", "x [%d,%d], %d heads × %d, %d positions, theta %g", xt.rows, xt.cols, heads, headDim, len(positions), theta)
	}
	half := headDim / 2
	maxPos := -1
	for _, p := range positions {
		if p < 0 {
			maxPos = -1
			break
		}
		maxPos = max(maxPos, p)
	}
	table := b.rope.table(theta, headDim, maxPos)
	var invFreq []float64
	if table == nil {
		invFreq = ropeInvFreq(theta, headDim)
	}
	b.parallel(xt.rows, 16, func(lo, hi int) {
		var cos, sin []float32
		if table == nil {
			cos, sin = make([]float32, half), make([]float32, half)
		}
		for t := lo; t < hi; t++ {
			if table != nil {
				p := positions[t]
				cos, sin = table.cos[p*half:(p+1)*half], table.sin[p*half:(p+1)*half]
			} else {
				ropeRow(float64(positions[t]), invFreq, cos, sin)
			}
			row := xt.data[t*xt.cols : (t+1)*xt.cols]
			if haveVecOps && half%8 == 0 {
				ropeHeads(&row[0], &cos[0], &sin[0], heads, half)
				continue
			}
			for h := range heads {
				v := row[h*headDim : (h+1)*headDim]
				lo, hi := v[:half], v[half:headDim]
				for i := range half {
					a, bb := lo[i], hi[i]
					// Each product rounded on its own (no FMA on any
					// architecture), as the vector rotation does.
					lo[i] = float32(a*cos[i]) - float32(bb*sin[i])
					hi[i] = float32(bb*cos[i]) + float32(a*sin[i])
				}
			}
		}
	})
	return nil
}

// Attention implements backend.Backend: exact softmax attention, one task
// per (sequence, head, block of query rows). Scores S = Q·Kᵀ and the output
// P·V run on the matmul kernels (V is transposed once per call); the
// softmax subtracts the row maximum and works in float32.
func (b *Backend) Attention(out, q, k, v backend.Tensor, p backend.AttentionParams) error {
	o, err := own("attention", out)
	if err != nil {
		return err
	}
	qt, err := own("attention", q)
	if err != nil {
		return err
	}
	kt, err := own("attention", k)
	if err != nil {
		return err
	}
	vt, err := own("attention", v)
	if err != nil {
		return err
	}
	seqLens, err := backend.CheckAttention(o, qt, kt, vt, p)
	if err != nil {
		return err
	}
	if o == qt || o == kt || o == vt {
		return backend.ShapeError("attention", "out aliases an input")
	}
	T := qt.rows
	H, KVH, hd := p.Heads, p.KVHeads, p.HeadDim
	if b.tileAttention(H, KVH, hd) {
		var spans []attnSpan
		s0 := 0
		for _, n := range seqLens {
			if n > 0 {
				spans = append(spans, attnSpan{s0, s0 + n, s0, s0 + n})
			}
			s0 += n
		}
		b.attendTiles(o.data, qt.data, kt.data, vt.data, H, KVH, hd, spans,
			func(t int) bool { return p.Valid == nil || p.Valid[t] }, p.Valid)
		return nil
	}
	kvd := KVH * hd
	// Vᵀ per KV head, [hd, T], so that P·V is another x·wᵀ product, unless
	// P·V runs on the broadcast kernels, which read V as it is.
	direct := useBcast && hd%16 == 0
	var vT []float32
	if !direct {
		vTp := getScratch(KVH * hd * T)
		defer putScratch(vTp)
		vT = *vTp
		b.headsT(vT, vt.data, KVH, hd, T, [][2]int{{0, T}})
	}
	kT, ldk := b.keysT(kt.data, H, KVH, hd, T, [][2]int{{0, T}})
	if kT != nil {
		defer putScratch(kT)
	}
	var tasks []attnTask
	s0 := 0
	for _, n := range seqLens {
		e := s0 + n
		tasks = appendAttnTasks(tasks, H, s0, e, s0, e)
		s0 = e
	}
	sortLargestFirst(tasks)
	group := H / KVH
	scale := float32(1 / math.Sqrt(float64(hd)))
	qd := H * hd
	b.parallelTasks(len(tasks), func(n int) {
		tk := tasks[n]
		g := tk.h / group
		rows, L := tk.t1-tk.t0, tk.hi-tk.lo
		if L == 0 || rows == 0 {
			return
		}
		// S = Q_h[t0:t1] · K_g[lo:hi]ᵀ, ld apart
		scores, ld, sp := headScores(qt.data[tk.t0*qd+tk.h*hd:], qd, kt.data[tk.lo*kvd+g*hd:], kvd, kT, ldk, g, hd, tk.lo, rows, L)
		defer putScratch(sp)
		for r := range rows {
			t := tk.t0 + r
			srow := scores[r*ld : r*ld+L]
			if p.Valid != nil && !p.Valid[t] {
				clear(srow)
				continue
			}
			softmaxRow(srow, scale, p.Valid, tk.lo)
		}
		// O = P · V = P · (Vᵀ)ᵀ, written straight into out's head slice.
		if direct {
			gemmNN(o.data[tk.t0*qd+tk.h*hd:], qd, scores, ld, vt.data[tk.lo*kvd+g*hd:], kvd, rows, hd, L)
		} else {
			gemmNT(o.data[tk.t0*qd+tk.h*hd:], qd, scores, ld, vT[g*hd*T+tk.lo:], T, rows, hd, L)
		}
	})
	return nil
}

// keysT returns, on a CPU with the broadcast kernels (useBcast) and for
// at least nnScoresGroup query heads per KV head, Kᵀ per KV head for
// headScores: the keys of src's rows in spans (KVH·hd values each) as
// columns of a [hd, ld] matrix per head (headsT), ld = rows rounded up to
// 16, plus 16, so that a span of keys rounded up to 16 columns stays
// inside it; the other columns are zero. Put it back with putScratch.
// Otherwise it returns nil, and the scores are dot products.
func (b *Backend) keysT(src []float32, H, KVH, hd, rows int, spans [][2]int) (*[]float32, int) {
	if !useBcast || H < nnScoresGroup*KVH {
		return nil, 0
	}
	ld := (rows+15)&^15 + 16
	p := getScratch(KVH * hd * ld)
	clear(*p)
	b.headsT(*p, src, KVH, hd, ld, spans)
	return p, ld
}

// nnScoresGroup is the fewest query heads per KV head for which attention
// scores run on the broadcast kernels: Kᵀ is built once per call and KV
// head, and pays for itself over enough heads' rows. Dream's 7 (Qwen2.5
// 0.5B's 7 too) do: the 0.5B-shaped cache-off forward's attention took a
// quarter less CPU. The built-in model's 2 do not: its invoked
// completion, mostly cached block steps that transpose the whole cache
// for 33 query rows, did not move, and its held-out results keep the dot
// products' sums.
const nnScoresGroup = 4

// headScores returns a head's raw attention scores for rows query rows
// (q, ldq apart) against the L keys from lo on: S = Q·Kᵀ, each row ld
// apart in a scratch buffer (put it back with putScratch). With kT
// (keysT) it runs on the broadcast kernels (gemmNN) over ld = L rounded
// up to 16 columns, the columns past L never read: about twice as fast as
// dot products over a head's 48 or 64 values, whose horizontal sums
// dominate. Without, it takes dot products with the keys as they are (k,
// ldkv apart).
func headScores(q []float32, ldq int, k []float32, ldkv int, kT *[]float32, ldk, g, hd, lo, rows, L int) ([]float32, int, *[]float32) {
	if kT == nil {
		sp := getScratch(rows * L)
		gemmNT(*sp, L, q, ldq, k, ldkv, rows, L, hd)
		return *sp, L, sp
	}
	ld := (L + 15) &^ 15
	sp := getScratch(rows * ld)
	gemmNN(*sp, ld, q, ldq, (*kT)[g*hd*ldk+lo:], ldk, rows, ld, hd)
	return *sp, ld, sp
}

// headsT writes, for each KV head g, the rows of src (KVH·hd values each)
// in spans as columns of dst: dst[g·hd·ld + d·ld + t] = src[t·KVH·hd +
// g·hd + d], so a head's V is a [hd, ld] matrix and P·V another x·wᵀ
// product on the tiles. Columns outside the spans are left as they are.
func (b *Backend) headsT(dst, src []float32, KVH, hd, ld int, spans [][2]int) {
	kvd := KVH * hd
	b.parallel(KVH, 1, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			out := dst[g*hd*ld : (g+1)*hd*ld]
			for _, sp := range spans {
				t := sp[0]
				// Eight rows at a time: each d gets eight adjacent columns.
				for ; t+8 <= sp[1]; t += 8 {
					r0 := src[t*kvd+g*hd:][:hd]
					r1 := src[(t+1)*kvd+g*hd:][:hd]
					r2 := src[(t+2)*kvd+g*hd:][:hd]
					r3 := src[(t+3)*kvd+g*hd:][:hd]
					r4 := src[(t+4)*kvd+g*hd:][:hd]
					r5 := src[(t+5)*kvd+g*hd:][:hd]
					r6 := src[(t+6)*kvd+g*hd:][:hd]
					r7 := src[(t+7)*kvd+g*hd:][:hd]
					for d := range hd {
						o := out[d*ld+t:][:8]
						o[0], o[1], o[2], o[3] = r0[d], r1[d], r2[d], r3[d]
						o[4], o[5], o[6], o[7] = r4[d], r5[d], r6[d], r7[d]
					}
				}
				for ; t < sp[1]; t++ {
					for d, x := range src[t*kvd+g*hd : t*kvd+(g+1)*hd] {
						out[d*ld+t] = x
					}
				}
			}
		}
	})
}

// attnTask is one head's block of query rows [t0,t1) over keys [lo,hi).
type attnTask struct{ h, t0, t1, lo, hi int }

// appendAttnTasks appends, for each of H heads, the tasks of query rows
// [q0,q1) over keys [k0,k1) in blocks of at most 48 rows.
func appendAttnTasks(tasks []attnTask, H, q0, q1, k0, k1 int) []attnTask {
	const qBlock = 48
	for h := range H {
		for t0 := q0; t0 < q1; t0 += qBlock {
			tasks = append(tasks, attnTask{h, t0, min(t0+qBlock, q1), k0, k1})
		}
	}
	return tasks
}

// sortLargestFirst orders tasks by score-matrix size, largest first: a
// whole canvas's blocks do not end the call alone on one thread while
// the other idles (tasks are independent, so the order changes no
// result).
func sortLargestFirst(tasks []attnTask) {
	slices.SortStableFunc(tasks, func(a, b attnTask) int {
		return (b.t1-b.t0)*(b.hi-b.lo) - (a.t1-a.t0)*(a.hi-a.lo)
	})
}

// softmaxRow turns srow, one query row's raw scores against the keys
// starting at row lo, into attention weights in place: scaled, then
// softmax over the keys that valid (nil: all) marks. Masked keys get
// exactly 0, as −∞ would give; a row with no valid key is all zeros.
func softmaxRow(srow []float32, scale float32, valid []bool, lo int) {
	m := float32(math.Inf(-1))
	j0 := 0
	if valid == nil && haveVecOps && len(srow) >= 8 {
		// The same products and maximum, eight lanes at a time.
		j0 = len(srow) &^ 7
		m = scaleMax(&srow[0], j0, scale)
	}
	for j := j0; j < len(srow); j++ {
		if valid != nil && !valid[lo+j] {
			srow[j] = float32(math.Inf(-1))
			continue
		}
		srow[j] *= scale
		m = max(m, srow[j])
	}
	if math.IsInf(float64(m), -1) {
		clear(srow)
		return
	}
	sum := expSub(srow, m)
	if valid != nil {
		for j := range srow {
			if !valid[lo+j] {
				srow[j] = 0
			}
		}
	}
	inv := 1 / sum
	j0 = 0
	if haveVecOps && len(srow) >= 8 {
		j0 = len(srow) &^ 7
		scaleBy(&srow[0], j0, inv)
	}
	for j := j0; j < len(srow); j++ {
		srow[j] *= inv
	}
}

// SiLUMul implements backend.Backend.
func (b *Backend) SiLUMul(out, gate, up backend.Tensor) error {
	o, err := own("silumul", out)
	if err != nil {
		return err
	}
	gt, err := own("silumul", gate)
	if err != nil {
		return err
	}
	ut, err := own("silumul", up)
	if err != nil {
		return err
	}
	if !sameShape(o, gt) || !sameShape(o, ut) {
		return backend.ShapeError("silumul", "out [%d,%d], gate [%d,%d], up [%d,%d]", o.rows, o.cols, gt.rows, gt.cols, ut.rows, ut.cols)
	}
	b.parallel(len(o.data), 1<<14, func(lo, hi int) {
		g, u, r := gt.data[lo:hi], ut.data[lo:hi], o.data[lo:hi]
		i0 := 0
		if haveAVX512 && len(g) >= 16 {
			i0 = len(g) &^ 15
			siluMul16(&r[0], &g[0], &u[0], i0)
		}
		if n := (len(g) - i0) &^ 7; haveVecOps && n > 0 {
			siluMul(&r[i0], &g[i0], &u[i0], n)
			i0 += n
		}
		for i := i0; i < len(g); i++ {
			x := g[i]
			r[i] = x / (1 + expf(-x)) * u[i]
		}
	})
	return nil
}

// Add implements backend.Backend.
func (b *Backend) Add(out, a, bb backend.Tensor) error {
	o, err := own("add", out)
	if err != nil {
		return err
	}
	at, err := own("add", a)
	if err != nil {
		return err
	}
	bt, err := own("add", bb)
	if err != nil {
		return err
	}
	if !sameShape(o, at) || !sameShape(o, bt) {
		return backend.ShapeError("add", "out [%d,%d], a [%d,%d], b [%d,%d]", o.rows, o.cols, at.rows, at.cols, bt.rows, bt.cols)
	}
	b.parallel(len(o.data), 1<<15, func(lo, hi int) {
		x, y, r := at.data[lo:hi], bt.data[lo:hi], o.data[lo:hi]
		i0 := 0
		if haveVecOps && len(r) >= 8 {
			i0 = len(r) &^ 7
			addVec(&r[0], &x[0], &y[0], i0)
		}
		for i := i0; i < len(r); i++ {
			r[i] = x[i] + y[i]
		}
	})
	return nil
}

func sameShape(a, b *tensor) bool { return a.rows == b.rows && a.cols == b.cols }

// expSub sets v[i] = exp(v[i]−m) and returns the sum; m must be at least
// every v[i] (masked entries may be −∞).
func expSub(v []float32, m float32) float32 {
	var sum float32
	i := 0
	if haveVecOps && len(v) >= 8 {
		i = len(v) &^ 7
		sum = expSubSum(&v[0], i, m)
	}
	for ; i < len(v); i++ {
		e := expf(v[i] - m)
		v[i] = e
		sum += e
	}
	return sum
}

// scratchPool recycles the float32 work buffers of attention (scores, Vᵀ):
// fresh ones per task made garbage at every layer, and the collections
// they triggered preempted the kernels.
var scratchPool sync.Pool

// getScratch returns a buffer of n float32s with arbitrary contents.
func getScratch(n int) *[]float32 {
	if p, ok := scratchPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

func putScratch(p *[]float32) { scratchPool.Put(p) }
