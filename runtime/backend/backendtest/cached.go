package backendtest

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// hidden wraps a backend so that only the Backend methods are visible,
// which sends backend.AttendCached down its unfused fallback.
type hidden struct{ backend.Backend }

// RunCachedAttention checks backend.AttendCached on the backend that
// newBackend returns, against the float64 RefAttention (the block's
// queries placed at their slots of a full-length attention), and also the
// unfused fallback on the same backend. A backend without
// backend.CachedAttention passes through the fallback only.
func RunCachedAttention(t *testing.T, newBackend func(t *testing.T) backend.Backend, tol float64) {
	for _, c := range []struct {
		name string
		wrap func(backend.Backend) backend.Backend
	}{
		{"native", func(b backend.Backend) backend.Backend { return b }},
		{"fallback", func(b backend.Backend) backend.Backend { return hidden{b} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBackend(t)
			defer b.Close()
			be := c.wrap(b)
			// Two sequences (13 and 9 cache rows) with 4 and 3 query rows, GQA 2:1, padding.
			valid := make([]bool, 22)
			for i := range valid {
				valid[i] = i != 2 && i != 15
			}
			runCached(t, be, tol, []int{4, 3}, []int{13, 9}, []int{5, 6, 7, 8, 16, 17, 15},
				backend.CachedAttentionParams{Heads: 4, KVHeads: 2, HeadDim: 8, Valid: valid}, 11)
			// One sequence, no padding, nil lengths; a sequence with no queries.
			runCached(t, be, tol, nil, nil, []int{0, 1, 2},
				backend.CachedAttentionParams{Heads: 2, KVHeads: 2, HeadDim: 4}, 12)
			runCached(t, be, tol, []int{0, 2}, []int{5, 6}, []int{9, 5},
				backend.CachedAttentionParams{Heads: 2, KVHeads: 1, HeadDim: 4}, 13)
			// GQA 4:1 over two sequences of 21 and 35 cache rows, 3 and 5
			// query rows, padding (the CPU's scores on the broadcast kernels).
			valid2 := make([]bool, 56)
			for i := range valid2 {
				valid2[i] = i != 0 && i != 30
			}
			runCached(t, be, tol, []int{3, 5}, []int{21, 35}, []int{18, 19, 20, 40, 41, 42, 43, 44},
				backend.CachedAttentionParams{Heads: 8, KVHeads: 2, HeadDim: 16, Valid: valid2}, 14)
			// Errors: a slot outside its sequence, too few slots.
			q := alloc(t, be, 2, 8)
			kv := alloc(t, be, 2, 8)
			kc, vc := alloc(t, be, 6, 8), alloc(t, be, 6, 8)
			p := backend.CachedAttentionParams{Heads: 2, KVHeads: 2, HeadDim: 4, QueryLens: []int{1, 1}, KeyLens: []int{3, 3}, Slots: []int{0, 1}}
			if err := backend.AttendCached(be, alloc(t, be, 2, 8), q, kv, kv, kc, vc, p); !errors.Is(err, backend.ErrShape) {
				t.Errorf("slot outside its sequence: err = %v, want ErrShape", err)
			}
			p.Slots = []int{0}
			if err := backend.AttendCached(be, alloc(t, be, 2, 8), q, kv, kv, kc, vc, p); !errors.Is(err, backend.ErrShape) {
				t.Errorf("one slot for two rows: err = %v, want ErrShape", err)
			}
		})
	}
}

func runCached(t *testing.T, b backend.Backend, tol float64, qLens, kLens, slots []int, p backend.CachedAttentionParams, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	Tq := len(slots)
	Tk := 0
	for _, n := range kLens {
		Tk += n
	}
	if kLens == nil {
		Tk = 5
	}
	qd, kvd := p.Heads*p.HeadDim, p.KVHeads*p.HeadDim
	q, k, v := randVec(r, Tq*qd), randVec(r, Tq*kvd), randVec(r, Tq*kvd)
	kc, vc := randVec(r, Tk*kvd), randVec(r, Tk*kvd)
	p.QueryLens, p.KeyLens, p.Slots = qLens, kLens, slots
	out := alloc(t, b, Tq, qd)
	kct, vct := upload(t, b, kc, Tk, kvd), upload(t, b, vc, Tk, kvd)
	if err := backend.AttendCached(b, out, upload(t, b, q, Tq, qd), upload(t, b, k, Tq, kvd), upload(t, b, v, Tq, kvd), kct, vct, p); err != nil {
		t.Fatal(err)
	}
	// Reference: caches with the block written, queries at their slots of a full-length call.
	wk, wv := append([]float32(nil), kc...), append([]float32(nil), vc...)
	fq := make([]float32, Tk*qd)
	for i, sl := range slots {
		copy(wk[sl*kvd:(sl+1)*kvd], k[i*kvd:(i+1)*kvd])
		copy(wv[sl*kvd:(sl+1)*kvd], v[i*kvd:(i+1)*kvd])
		copy(fq[sl*qd:(sl+1)*qd], q[i*qd:(i+1)*qd])
	}
	full := RefAttention(fq, wk, wv, Tk, backend.AttentionParams{Heads: p.Heads, KVHeads: p.KVHeads, HeadDim: p.HeadDim, SeqLens: kLens, Valid: p.Valid})
	want := make([]float64, Tq*qd)
	for i, sl := range slots {
		copy(want[i*qd:(i+1)*qd], full[sl*qd:(sl+1)*qd])
	}
	check(t, tol, "AttendCached out", read(t, b, out), want)
	toF64 := func(x []float32) []float64 {
		y := make([]float64, len(x))
		for i, f := range x {
			y[i] = float64(f)
		}
		return y
	}
	check(t, tol, "AttendCached kCache", read(t, b, kct), toF64(wk))
	check(t, tol, "AttendCached vCache", read(t, b, vct), toF64(wv))
}
