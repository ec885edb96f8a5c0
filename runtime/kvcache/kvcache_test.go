package kvcache_test

import (
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
)

func TestBlock(t *testing.T) {
	const M = 9
	for _, tc := range []struct {
		ids        []int
		start, end int
		ok         bool
	}{
		{[]int{1, 2, M, M, 3}, 1, 4, true},
		{[]int{M, 1, M, 2}, 0, 3, true},
		{[]int{1, 2, 3, M}, 2, 4, true},
		{[]int{1, 2}, 0, 0, false},
	} {
		s, e, ok := kvcache.Block(tc.ids, M)
		if s != tc.start || e != tc.end || ok != tc.ok {
			t.Errorf("Block(%v) = %d, %d, %v; want %d, %d, %v", tc.ids, s, e, ok, tc.start, tc.end, tc.ok)
		}
	}
}

func TestPolicyFull(t *testing.T) {
	full := func(p kvcache.Policy, steps, perStep, masks int) []int {
		var out []int
		left, total := masks, masks
		for s := range steps {
			if p.Full(s, left, total) {
				out = append(out, s)
				total = left
			}
			left -= perStep
		}
		return out
	}
	for _, tc := range []struct {
		p    kvcache.Policy
		want []int
	}{
		{kvcache.Policy{Refresh: 1}, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{kvcache.Policy{Refresh: 3}, []int{0, 3, 6}},
		{kvcache.Policy{}, []int{0, kvcache.DefaultRefresh}},
		{kvcache.Policy{Refresh: -1}, []int{0}},
		{kvcache.Policy{Refresh: -1, RefreshOnCommit: 0.5}, []int{0, 4, 6, 7}},
	} {
		got := full(tc.p, 8, 1, 8)
		if len(got) != len(tc.want) {
			t.Errorf("%+v: refresh steps %v, want %v", tc.p, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%+v: refresh steps %v, want %v", tc.p, got, tc.want)
				break
			}
		}
	}
}

func TestReset(t *testing.T) {
	c := kvcache.New(cpu.New(1), 2, 4)
	if err := c.Reset([]int{3, 2}, []int{0, 1, 2, 0, 1}, nil); err != nil {
		t.Fatal(err)
	}
	k, v := c.Layer(1)
	if c.Rows() != 5 || k.Rows() != 5 || v.Cols() != 4 || c.Seqs()[1] != (kvcache.Seq{Offset: 3, Len: 2}) {
		t.Fatalf("layout: rows %d, k [%d,%d], seqs %v", c.Rows(), k.Rows(), k.Cols(), c.Seqs())
	}
	// Same row count: tensors kept.
	if err := c.Reset([]int{5}, []int{0, 1, 2, 3, 4}, make([]bool, 5)); err != nil {
		t.Fatal(err)
	}
	if k2, _ := c.Layer(1); k2 != k || c.Valid() == nil {
		t.Error("Reset with the same row count reallocated or lost Valid")
	}
	for name, f := range map[string]func() error{
		"zero length":     func() error { return c.Reset([]int{0}, nil, nil) },
		"positions short": func() error { return c.Reset([]int{3}, []int{0, 1}, nil) },
		"valid short":     func() error { return c.Reset([]int{2}, []int{0, 1}, []bool{true}) },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c.Free()
	if c.Rows() != 0 {
		t.Error("Free left rows")
	}
}

func TestReuseAndRelayout(t *testing.T) {
	be := cpu.New(1)
	c := kvcache.New(be, 1, 2)
	if err := c.Reset([]int{4}, []int{0, 1, 2, 3}, nil); err != nil {
		t.Fatal(err)
	}
	if n := c.Reuse([]int{5, 6, 7}); n != 0 {
		t.Errorf("Reuse before tokens are known = %d, want 0", n)
	}
	c.SetTokens(0, []int{5, 6, 7, 8})
	k, _ := c.Layer(0)
	copy(cpu.Data(k), []float32{1, 1, 2, 2, 3, 3, 4, 4})
	if n := c.Reuse([]int{5, 6, 9, 8, 1}); n != 2 {
		t.Errorf("Reuse = %d, want 2", n)
	}
	// Grow to 6 rows keeping 2: rows 0-1 keep their keys and tokens.
	if err := c.Relayout(2, 6, []int{0, 1, 2, 3, 4, 5}, nil); err != nil {
		t.Fatal(err)
	}
	k, _ = c.Layer(0)
	if d := cpu.Data(k); k.Rows() != 6 || d[0] != 1 || d[3] != 2 {
		t.Errorf("after relayout: rows %d, keys %v", k.Rows(), d)
	}
	if tk := c.Tokens(); tk[0] != 5 || tk[1] != 6 || tk[2] != -1 {
		t.Errorf("tokens after relayout %v", tk)
	}
	// Same size keeps the tensors.
	if err := c.Relayout(1, 6, []int{0, 1, 2, 3, 4, 5}, nil); err != nil {
		t.Fatal(err)
	}
	if k2, _ := c.Layer(0); k2 != k || c.Tokens()[1] != -1 {
		t.Error("same-size relayout reallocated or kept a dropped row's token")
	}
	if err := c.Relayout(7, 6, make([]int, 6), nil); err == nil {
		t.Error("keeping more rows than the new length: no error")
	}
	_ = c.Reset([]int{2, 2}, []int{0, 1, 0, 1}, nil)
	if n := c.Reuse([]int{0, 1}); n != 0 {
		t.Errorf("Reuse of a two-sequence cache = %d, want 0", n)
	}
}
