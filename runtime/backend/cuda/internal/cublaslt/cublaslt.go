// Package cublaslt binds cuBLASLt (libcublasLt.so*) through purego, with no
// cgo: row-major bf16/fp32 GEMMs with fp32 accumulation. Every
// cublasStatus_t other than CUBLAS_STATUS_SUCCESS becomes an *Error naming
// the call and the status.
package cublaslt

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/dl"
	"github.com/ebitengine/purego"
)

// Status is a cublasStatus_t.
type Status int

// Success is CUBLAS_STATUS_SUCCESS.
const Success Status = 0

var statusNames = map[Status]string{
	0:  "CUBLAS_STATUS_SUCCESS",
	1:  "CUBLAS_STATUS_NOT_INITIALIZED",
	3:  "CUBLAS_STATUS_ALLOC_FAILED",
	7:  "CUBLAS_STATUS_INVALID_VALUE",
	8:  "CUBLAS_STATUS_ARCH_MISMATCH",
	11: "CUBLAS_STATUS_MAPPING_ERROR",
	13: "CUBLAS_STATUS_EXECUTION_FAILED",
	14: "CUBLAS_STATUS_INTERNAL_ERROR",
	15: "CUBLAS_STATUS_NOT_SUPPORTED",
	16: "CUBLAS_STATUS_LICENSE_ERROR",
}

// String returns the enumerator name, or cublasStatus_t(N).
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("cublasStatus_t(%d)", int(s))
}

// Error is a failed cuBLASLt call.
type Error struct {
	Call   string
	Status Status
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%d)", e.Call, e.Status, int(e.Status))
}

// Data and compute types (cudaDataType_t, cublasComputeType_t).
const (
	R32F  = 0  // CUDA_R_32F
	R16F  = 2  // CUDA_R_16F
	R16BF = 14 // CUDA_R_16BF

	Compute32F         = 68 // CUBLAS_COMPUTE_32F
	Compute32FFastTF32 = 77 // CUBLAS_COMPUTE_32F_FAST_TF32
)

// Matmul descriptor attributes and values.
const (
	descTransA      = 3 // CUBLASLT_MATMUL_DESC_TRANSA
	descTransB      = 4 // CUBLASLT_MATMUL_DESC_TRANSB
	descEpilogue    = 7 // CUBLASLT_MATMUL_DESC_EPILOGUE
	descBiasPointer = 8 // CUBLASLT_MATMUL_DESC_BIAS_POINTER

	opN = 0 // CUBLAS_OP_N
	opT = 1 // CUBLAS_OP_T

	epilogueDefault = 1 // CUBLASLT_EPILOGUE_DEFAULT
	epilogueBias    = 4 // CUBLASLT_EPILOGUE_BIAS

	prefMaxWorkspaceBytes = 1 // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES

	layoutBatchCount   = 5 // CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT (int32)
	layoutStridedBatch = 6 // CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET (int64, elements)
)

// heuristicResultSize is sizeof(cublasLtMatmulHeuristicResult_t): algo
// (64 bytes), workspaceSize (8), state (4), wavesCount (4), reserved[4] (16).
const heuristicResultSize = 96

// Lt is the resolved cuBLASLt API with one handle.
type Lt struct {
	Lib    *dl.Library
	handle uintptr

	cublasLtCreate, cublasLtDestroy, cublasLtGetVersion, cublasLtMatmulDescCreate,
	cublasLtMatmulDescDestroy, cublasLtMatmulDescSetAttribute, cublasLtMatrixLayoutCreate,
	cublasLtMatrixLayoutDestroy, cublasLtMatrixLayoutSetAttribute, cublasLtMatmulPreferenceCreate, cublasLtMatmulPreferenceDestroy,
	cublasLtMatmulPreferenceSetAttribute, cublasLtMatmulAlgoGetHeuristic, cublasLtMatmul uintptr
}

// Load resolves the API. Call Create (with a current CUDA context) before
// planning GEMMs.
func Load(lib *dl.Library) (*Lt, error) {
	l := &Lt{Lib: lib}
	err := lib.Bind([]dl.Binding{
		{Ptr: &l.cublasLtCreate, Names: []string{"cublasLtCreate"}},
		{Ptr: &l.cublasLtDestroy, Names: []string{"cublasLtDestroy"}},
		{Ptr: &l.cublasLtGetVersion, Names: []string{"cublasLtGetVersion"}},
		{Ptr: &l.cublasLtMatmulDescCreate, Names: []string{"cublasLtMatmulDescCreate"}},
		{Ptr: &l.cublasLtMatmulDescDestroy, Names: []string{"cublasLtMatmulDescDestroy"}},
		{Ptr: &l.cublasLtMatmulDescSetAttribute, Names: []string{"cublasLtMatmulDescSetAttribute"}},
		{Ptr: &l.cublasLtMatrixLayoutCreate, Names: []string{"cublasLtMatrixLayoutCreate"}},
		{Ptr: &l.cublasLtMatrixLayoutDestroy, Names: []string{"cublasLtMatrixLayoutDestroy"}},
		{Ptr: &l.cublasLtMatrixLayoutSetAttribute, Names: []string{"cublasLtMatrixLayoutSetAttribute"}},
		{Ptr: &l.cublasLtMatmulPreferenceCreate, Names: []string{"cublasLtMatmulPreferenceCreate"}},
		{Ptr: &l.cublasLtMatmulPreferenceDestroy, Names: []string{"cublasLtMatmulPreferenceDestroy"}},
		{Ptr: &l.cublasLtMatmulPreferenceSetAttribute, Names: []string{"cublasLtMatmulPreferenceSetAttribute"}},
		{Ptr: &l.cublasLtMatmulAlgoGetHeuristic, Names: []string{"cublasLtMatmulAlgoGetHeuristic"}},
		{Ptr: &l.cublasLtMatmul, Names: []string{"cublasLtMatmul"}},
	})
	if err != nil {
		return nil, fmt.Errorf("cublaslt: bind API: %w", err)
	}
	return l, nil
}

// call invokes fn and maps its status. Pointer arguments arrive as
// uintptr(unsafe.Pointer(&x)); go:uintptrescapes keeps each x on the heap
// and alive for the call (see internal/cu's call).
//
//go:uintptrescapes
func call(name string, fn uintptr, args ...uintptr) error {
	r, _, _ := purego.SyscallN(fn, args...)
	if s := Status(int32(r)); s != Success {
		return &Error{Call: name, Status: s}
	}
	return nil
}

// Version returns cublasLtGetVersion() (e.g. 130001 for 13.0.1).
func (l *Lt) Version() int {
	r, _, _ := purego.SyscallN(l.cublasLtGetVersion)
	return int(r)
}

// Create makes the library handle in the current context.
func (l *Lt) Create() error {
	return call("cublasLtCreate", l.cublasLtCreate, uintptr(unsafe.Pointer(&l.handle)))
}

// Destroy releases the handle.
func (l *Lt) Destroy() error {
	if l.handle == 0 {
		return nil
	}
	err := call("cublasLtDestroy", l.cublasLtDestroy, l.handle)
	l.handle = 0
	return err
}

// GEMMShape describes Y[M,N] = X[M,K]·W[N,K]ᵀ (+ bias[N]), all row-major,
// with fp32 accumulation; or, with TransW, Y = X·W for W stored [K,N].
// Leading dimensions (elements between rows) default to the dense ones;
// Batch > 1 runs Batch independent products whose matrices start Stride*
// elements apart (strided batched GEMM).
type GEMMShape struct {
	M, N, K   int
	XType     int  // R16BF or R32F (W has the same type)
	YType     int  // R16BF or R32F
	Bias      bool // add a bias vector of YType and length N (cuBLASLt epilogue)
	Workspace int  // workspace bytes the plan may use

	TransW                    bool // W is stored [K,N] (Y = X·W)
	LdX, LdW, LdY             int  // 0: K, K (N with TransW), N
	Batch                     int  // 0 or 1: one product
	StrideX, StrideW, StrideY int64
}

// Plan is a GEMM prepared once (descriptors and chosen algorithm) and run
// many times; it is safe to capture Run into a CUDA graph when the
// workspace is fixed.
type Plan struct {
	lt            *Lt
	shape         GEMMShape
	desc          uintptr
	a, b, d       uintptr
	algo          [heuristicResultSize]byte // the algorithm in use (one heuristic result)
	algos         [][heuristicResultSize]byte
	workspaceNeed uint64
	alpha, beta   *float32
}

// NewPlan creates the descriptors for s and asks the heuristic for the best
// algorithm.
func (l *Lt) NewPlan(s GEMMShape) (p *Plan, err error) {
	if s.M <= 0 || s.N <= 0 || s.K <= 0 {
		return nil, fmt.Errorf("cublaslt: invalid GEMM shape M=%d N=%d K=%d", s.M, s.N, s.K)
	}
	p = &Plan{lt: l, shape: s, alpha: new(float32), beta: new(float32)}
	*p.alpha = 1
	defer func() {
		if err != nil {
			p.Destroy()
		}
	}()
	// Column-major view: D[N,M] = op(A)·B with A = W (K×N, ld LdW,
	// transposed; or N×K untransposed with TransW), B = X viewed as K×M
	// (ld LdX), D = Y viewed as N×M (ld LdY).
	ldx, ldw, ldy := s.LdX, s.LdW, s.LdY
	if ldx == 0 {
		ldx = s.K
	}
	if ldw == 0 {
		ldw = s.K
		if s.TransW {
			ldw = s.N
		}
	}
	if ldy == 0 {
		ldy = s.N
	}
	if err := call("cublasLtMatmulDescCreate", l.cublasLtMatmulDescCreate, uintptr(unsafe.Pointer(&p.desc)), Compute32F, R32F); err != nil {
		return nil, err
	}
	ta, tb := int32(opT), int32(opN)
	if s.TransW {
		ta = opN
	}
	if err := l.setDesc(p.desc, descTransA, unsafe.Pointer(&ta), 4); err != nil {
		return nil, err
	}
	if err := l.setDesc(p.desc, descTransB, unsafe.Pointer(&tb), 4); err != nil {
		return nil, err
	}
	epi := int32(epilogueDefault)
	if s.Bias {
		epi = epilogueBias
	}
	if err := l.setDesc(p.desc, descEpilogue, unsafe.Pointer(&epi), 4); err != nil {
		return nil, err
	}
	arows, acols := s.K, s.N
	if s.TransW {
		arows, acols = s.N, s.K
	}
	if err := l.layout(&p.a, s.XType, arows, acols, ldw, s.Batch, s.StrideW); err != nil {
		return nil, err
	}
	if err := l.layout(&p.b, s.XType, s.K, s.M, ldx, s.Batch, s.StrideX); err != nil {
		return nil, err
	}
	if err := l.layout(&p.d, s.YType, s.N, s.M, ldy, s.Batch, s.StrideY); err != nil {
		return nil, err
	}
	var pref uintptr
	if err := call("cublasLtMatmulPreferenceCreate", l.cublasLtMatmulPreferenceCreate, uintptr(unsafe.Pointer(&pref))); err != nil {
		return nil, err
	}
	defer purego.SyscallN(l.cublasLtMatmulPreferenceDestroy, pref)
	ws := uint64(s.Workspace)
	if err := call("cublasLtMatmulPreferenceSetAttribute", l.cublasLtMatmulPreferenceSetAttribute, pref, prefMaxWorkspaceBytes, uintptr(unsafe.Pointer(&ws)), 8); err != nil {
		return nil, err
	}
	var found int32
	if s.Bias {
		// The heuristic looks at the bias pointer's alignment; a placeholder
		// aligned to 256 bytes stands in for the real one set in Run.
		bp := uint64(256)
		if err := l.setDesc(p.desc, descBiasPointer, unsafe.Pointer(&bp), 8); err != nil {
			return nil, err
		}
	}
	// Ask for several candidates: the first is the heuristic's choice,
	// the rest are for Tune.
	var results [maxAlgos * heuristicResultSize]byte
	if err := call("cublasLtMatmulAlgoGetHeuristic", l.cublasLtMatmulAlgoGetHeuristic, l.handle, p.desc,
		p.a, p.b, p.d, p.d, pref, maxAlgos, uintptr(unsafe.Pointer(&results[0])), uintptr(unsafe.Pointer(&found))); err != nil {
		return nil, fmt.Errorf("GEMM %dx%dx%d: %w", s.M, s.N, s.K, err)
	}
	if found <= 0 {
		return nil, fmt.Errorf("cublaslt: no algorithm for GEMM %dx%dx%d (types %d->%d)", s.M, s.N, s.K, s.XType, s.YType)
	}
	for i := 0; i < int(min(found, maxAlgos)); i++ {
		var r [heuristicResultSize]byte
		copy(r[:], results[i*heuristicResultSize:])
		if st := int32(binary.LittleEndian.Uint32(r[72:])); st != 0 {
			continue // cublasLtMatmulHeuristicResult_t.state: not usable
		}
		if binary.LittleEndian.Uint64(r[64:]) > uint64(s.Workspace) {
			continue
		}
		p.algos = append(p.algos, r)
	}
	if len(p.algos) == 0 {
		return nil, fmt.Errorf("cublaslt: no usable algorithm for GEMM %dx%dx%d", s.M, s.N, s.K)
	}
	p.UseAlgo(0)
	return p, nil
}

func (l *Lt) setDesc(desc uintptr, attr int, v unsafe.Pointer, size int) error {
	return call("cublasLtMatmulDescSetAttribute", l.cublasLtMatmulDescSetAttribute, desc, uintptr(attr), uintptr(v), uintptr(size))
}

func (l *Lt) layout(dst *uintptr, typ, rows, cols, ld, batch int, stride int64) error {
	if err := call("cublasLtMatrixLayoutCreate", l.cublasLtMatrixLayoutCreate, uintptr(unsafe.Pointer(dst)), uintptr(typ), uintptr(rows), uintptr(cols), uintptr(ld)); err != nil {
		return err
	}
	if batch <= 1 {
		return nil
	}
	n := int32(batch)
	if err := call("cublasLtMatrixLayoutSetAttribute", l.cublasLtMatrixLayoutSetAttribute, *dst, layoutBatchCount, uintptr(unsafe.Pointer(&n)), 4); err != nil {
		return err
	}
	return call("cublasLtMatrixLayoutSetAttribute", l.cublasLtMatrixLayoutSetAttribute, *dst, layoutStridedBatch, uintptr(unsafe.Pointer(&stride)), 8)
}

// maxAlgos is how many heuristic candidates a plan keeps.
const maxAlgos = 8

// NumAlgos is the number of candidate algorithms (the heuristic's order).
func (p *Plan) NumAlgos() int { return len(p.algos) }

// UseAlgo selects candidate i for later Runs (0 is the heuristic's pick).
func (p *Plan) UseAlgo(i int) {
	if i < 0 || i >= len(p.algos) {
		return
	}
	p.algo = p.algos[i]
	p.workspaceNeed = binary.LittleEndian.Uint64(p.algo[64:])
}

// WorkspaceBytes is the workspace the chosen algorithm needs.
func (p *Plan) WorkspaceBytes() uint64 { return p.workspaceNeed }

// Run enqueues Y = X·Wᵀ (+ bias) on stream. x, w, y, bias and workspace are
// device pointers; bias is ignored unless the plan was made with Bias.
func (p *Plan) Run(y, x, w, bias, workspace uint64, workspaceBytes uint64, stream uintptr) error {
	if p.shape.Bias {
		if err := p.lt.setDesc(p.desc, descBiasPointer, unsafe.Pointer(&bias), 8); err != nil {
			return err
		}
	}
	return call("cublasLtMatmul", p.lt.cublasLtMatmul, p.lt.handle, p.desc,
		uintptr(unsafe.Pointer(p.alpha)), uintptr(w), p.a, uintptr(x), p.b,
		uintptr(unsafe.Pointer(p.beta)), uintptr(y), p.d, uintptr(y), p.d,
		uintptr(unsafe.Pointer(&p.algo[0])), uintptr(workspace), uintptr(workspaceBytes), stream)
}

// Destroy frees the descriptors.
func (p *Plan) Destroy() {
	l := p.lt
	for _, lay := range []uintptr{p.a, p.b, p.d} {
		if lay != 0 {
			purego.SyscallN(l.cublasLtMatrixLayoutDestroy, lay)
		}
	}
	if p.desc != 0 {
		purego.SyscallN(l.cublasLtMatmulDescDestroy, p.desc)
	}
	p.a, p.b, p.d, p.desc = 0, 0, 0, 0
}
