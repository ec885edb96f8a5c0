package cpu

import (
	"math/rand/v2"
	"testing"
)

// TestTileRowsIndependent: a row's products are bit-identical whatever the
// other rows of the tile are and wherever the row sits in it. Batched
// canvases (dream-lsp api, the denoiser's rows) rely on it: a request gives
// the same middles batched as alone.
func TestTileRowsIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, sh := range [][3]int{{13, 100, 19}, {9, 64, 6}, {11, 48, 10}, {7, 33, 5}, {17, 256, 38}, {5, 16, 3}, {12, 1024, 14}} {
		m, k, n := sh[0], sh[1], sh[2]
		x := randWeights(r, m*k, 1)
		w := randWeights(r, n*k, 1)
		all := make([]float32, m*n)
		a := operands{out: all, ldo: n, x: x, ldx: k, w: w, ldw: k, kw: k}
		a.tile(0, m, 0, n)
		for row := range m {
			one := make([]float32, n)
			b := operands{out: one, ldo: n, x: x[row*k : row*k+k], ldx: k, w: w, ldw: k, kw: k}
			b.tile(0, 1, 0, n)
			for j := range n {
				if one[j] != all[row*n+j] {
					t.Fatalf("%dx%dx%d row %d col %d: alone %v, in the tile %v", m, k, n, row, j, one[j], all[row*n+j])
				}
			}
		}
	}
}
