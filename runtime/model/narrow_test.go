package model_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// narrowInputs are three canvases (one left-padded, with its own
// positions) whose wanted positions repeat a row (0 and 1 both read row
// 0), come out of order and leave most rows unread.
func narrowInputs() []model.Input {
	a, b, c := canvas(40, 10, 18, 1), canvas(25, 0, 5, 2), canvas(30, 20, 30, 3)
	valid := make([]bool, 30)
	pos := make([]int, 30)
	for i := range valid {
		valid[i] = i >= 3
		pos[i] = max(i-3, 0)
	}
	return []model.Input{
		{IDs: a, Want: []int{17, 10, 11, 12, 13, 14, 15, 16}},
		{IDs: b, Want: []int{0, 1, 2, 3, 4}},
		{IDs: c, Valid: valid, Positions: pos, Want: []int{29, 20, 25}},
	}
}

// narrowRun is what one model gives for narrowInputs: Forward, Prefill,
// a block step without logits (its keys and values still go into the
// cache) and block steps with them, one of a changed block.
func narrowRun(t *testing.T, m *model.Model) [][]float32 {
	t.Helper()
	in := narrowInputs()
	var all [][]float32
	add := func(out [][]float32, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
	}
	add(m.Forward(in))
	cache := m.NewCache()
	defer cache.Free()
	add(m.Prefill(cache, in))
	a2 := slices.Clone(in[0].IDs)
	a2[12], a2[13] = 5, 6
	add(m.ForwardBlocks(cache, []model.Block{{Seq: 0, Start: 9, IDs: a2[9:18]}}))
	add(m.ForwardBlocks(cache, []model.Block{
		{Seq: 0, Start: 9, IDs: in[0].IDs[9:18], Want: in[0].Want},
		{Seq: 1, Start: 0, IDs: in[1].IDs[0:5], Want: in[1].Want},
		{Seq: 2, Start: 19, IDs: in[2].IDs[19:30], Want: in[2].Want},
	}))
	add(m.ForwardBlocks(cache, []model.Block{{Seq: 2, Start: 19, IDs: in[2].IDs[19:30], Want: []int{21}}}))
	return all
}

// TestLastLayerNarrowed: the last layer's output projection and MLP run
// only on the rows lm_head reads, and every logit is the one the whole
// last layer gives: bit for bit on the float32 kernels (all row by row),
// within the tiles' rounding on AMX, where a row set's size can move a
// row between the tiles and VDPBF16PS.
func TestLastLayerNarrowed(t *testing.T) {
	type setup struct {
		name  string
		be    func() (backend.Backend, error)
		exact bool
	}
	setups := []setup{
		{"float32", func() (backend.Backend, error) { return cpu.New(2), nil }, true},
		{"fallback attention", func() (backend.Backend, error) { return hiddenBackend{cpu.New(2)}, nil }, true},
		{"amx", func() (backend.Backend, error) {
			be := cpu.New(2)
			return be, be.SetBF16Matmul(true)
		}, false},
	}
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			run := func(narrow bool) [][]float32 {
				defer model.SetNarrowLastLayer(model.SetNarrowLastLayer(narrow))
				be, err := s.be()
				if errors.Is(err, cpu.ErrNoAMX) {
					t.Skip(err)
				} else if err != nil {
					t.Fatal(err)
				}
				return narrowRun(t, loadSmall(t, be))
			}
			whole, narrow := run(false), run(true)
			if len(whole) != len(narrow) {
				t.Fatalf("%d outputs narrowed, %d whole", len(narrow), len(whole))
			}
			for i := range whole {
				if len(whole[i]) != len(narrow[i]) {
					t.Fatalf("output %d: %d logits narrowed, %d whole", i, len(narrow[i]), len(whole[i]))
				}
				for j := range whole[i] {
					w, n := whole[i][j], narrow[i][j]
					if s.exact && math.Float32bits(w) != math.Float32bits(n) {
						t.Fatalf("output %d logit %d: %v narrowed, %v whole", i, j, n, w)
					}
					if d := math.Abs(float64(w - n)); d > 1e-4*(1+math.Abs(float64(w))) {
						t.Fatalf("output %d logit %d: %v narrowed, %v whole", i, j, n, w)
					}
				}
			}
		})
	}
}
