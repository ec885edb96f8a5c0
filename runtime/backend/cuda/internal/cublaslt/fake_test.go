package cublaslt

import (
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/dl"
)

// TestPlanMappingWithFake runs plans against the fake cuBLASLt of
// ../../testdata/fakecuda (reference BLAS semantics, host memory as
// "device" memory): the row-major shapes, leading dimensions, TransW and
// strided batches used by the attention GEMMs must give the products a
// plain loop gives.
func TestPlanMappingWithFake(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		testenv.Missing(t, "no C compiler to build the fake cuBLASLt")
	}
	so := filepath.Join(t.TempDir(), "libcublasLt.so.13")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", so, filepath.Join("..", "..", "testdata", "fakecuda", "fake.c")).CombinedOutput(); err != nil {
		t.Fatalf("build fake: %v\n%s", err, out)
	}
	lib, err := dl.Open(so)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := Load(lib)
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.Create(); err != nil {
		t.Fatal(err)
	}
	defer lt.Destroy()
	r := rand.New(rand.NewPCG(3, 4))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	addr := func(v []float32) uint64 { return uint64(uintptr(unsafe.Pointer(&v[0]))) }
	ws := make([]float32, 1024)

	// Attention scores for GQA in the layout of the bf16 path: Q grouped
	// [B][M][K] dense, keys rows of a cache [nk][B·K] (ld B·K, batch offset
	// K), scores [B][M][N].
	const B, M, N, K = 3, 5, 7, 4
	q, kc := rnd(B*M*K), rnd(N*B*K)
	s := make([]float32, B*M*N)
	p, err := lt.NewPlan(GEMMShape{M: M, N: N, K: K, XType: R32F, YType: R32F, Workspace: 4096,
		LdW: B * K, Batch: B, StrideX: M * K, StrideW: K, StrideY: M * N})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Destroy()
	if err := p.Run(addr(s), addr(q), addr(kc), 0, addr(ws), 4096, 0); err != nil {
		t.Fatal(err)
	}
	for b := range B {
		for i := range M {
			for j := range N {
				var want float64
				for k := range K {
					want += float64(q[(b*M+i)*K+k]) * float64(kc[j*B*K+b*K+k])
				}
				if got := s[(b*M+i)*N+j]; math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("scores[%d][%d][%d] = %g, want %g", b, i, j, got, want)
				}
			}
		}
	}
	// Weighted values: P [B][M][N] dense times V rows of a cache [N][B·K]
	// (TransW: V is stored [N=K_gemm][K=N_gemm]), output [B][M][K].
	pm, vc := rnd(B*M*N), rnd(N*B*K)
	o := make([]float32, B*M*K)
	p2, err := lt.NewPlan(GEMMShape{M: M, N: K, K: N, XType: R32F, YType: R32F, Workspace: 4096, TransW: true,
		LdW: B * K, Batch: B, StrideX: M * N, StrideW: K, StrideY: M * K})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Destroy()
	if err := p2.Run(addr(o), addr(pm), addr(vc), 0, addr(ws), 4096, 0); err != nil {
		t.Fatal(err)
	}
	for b := range B {
		for i := range M {
			for d := range K {
				var want float64
				for j := range N {
					want += float64(pm[(b*M+i)*N+j]) * float64(vc[j*B*K+b*K+d])
				}
				if got := o[(b*M+i)*K+d]; math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("out[%d][%d][%d] = %g, want %g", b, i, d, got, want)
				}
			}
		}
	}
	// The plain projection with bias.
	x, w, bias := rnd(4*6), rnd(5*6), rnd(5)
	y := make([]float32, 4*5)
	p3, err := lt.NewPlan(GEMMShape{M: 4, N: 5, K: 6, XType: R32F, YType: R32F, Bias: true, Workspace: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer p3.Destroy()
	if err := p3.Run(addr(y), addr(x), addr(w), addr(bias), addr(ws), 4096, 0); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		for j := range 5 {
			want := float64(bias[j])
			for k := range 6 {
				want += float64(x[i*6+k]) * float64(w[j*6+k])
			}
			if got := y[i*5+j]; math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("y[%d][%d] = %g, want %g", i, j, got, want)
			}
		}
	}
}
