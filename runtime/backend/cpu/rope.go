package cpu

import (
	"math"
	"sync"
	"sync/atomic"
)

// ropeTables caches RoPE's cos and sin per position. A forward pass
// rotates q and k in every layer at the same positions, and the direct
// computation spends half a head dimension of float64 Sincos calls per
// token and call; the table computes each position once per backend with
// the same float64 Sincos, so results are bit-identical.
type ropeTables struct {
	mu  sync.Mutex
	cur atomic.Pointer[ropeTable]
}

// ropeTable is one immutable snapshot: rows [0, n) of cos and sin for one
// (theta, head dimension), half a head dimension per row.
type ropeTable struct {
	theta   float64
	headDim int
	n       int
	cos     []float32
	sin     []float32
}

// maxRoPETable bounds the cached positions; larger ones are computed
// directly (no Dream checkpoint has positions anywhere near it).
const maxRoPETable = 1 << 17

// table returns a snapshot covering positions [0, maxPos] for theta and
// headDim, or nil when maxPos is outside what is cached.
func (r *ropeTables) table(theta float64, headDim, maxPos int) *ropeTable {
	if maxPos < 0 || maxPos >= maxRoPETable {
		return nil
	}
	if t := r.cur.Load(); t != nil && t.theta == theta && t.headDim == headDim && maxPos < t.n {
		return t
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cur.Load()
	if old != nil && old.theta == theta && old.headDim == headDim && maxPos < old.n {
		return old
	}
	n := 512
	for n <= maxPos {
		n *= 2
	}
	half := headDim / 2
	t := &ropeTable{theta: theta, headDim: headDim, n: n, cos: make([]float32, n*half), sin: make([]float32, n*half)}
	start := 0
	if old != nil && old.theta == theta && old.headDim == headDim {
		copy(t.cos, old.cos)
		copy(t.sin, old.sin)
		start = old.n
	}
	invFreq := ropeInvFreq(theta, headDim)
	for p := start; p < n; p++ {
		ropeRow(float64(p), invFreq, t.cos[p*half:(p+1)*half], t.sin[p*half:(p+1)*half])
	}
	r.cur.Store(t)
	return t
}

// ropeInvFreq is theta^(-2i/headDim) for i < headDim/2.
func ropeInvFreq(theta float64, headDim int) []float64 {
	inv := make([]float64, headDim/2)
	for i := range inv {
		inv[i] = math.Pow(theta, -float64(2*i)/float64(headDim))
	}
	return inv
}

// ropeRow fills cos and sin for one position.
func ropeRow(p float64, invFreq []float64, cos, sin []float32) {
	for i, f := range invFreq {
		s, c := math.Sincos(p * f)
		cos[i], sin[i] = float32(c), float32(s)
	}
}
