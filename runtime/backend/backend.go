// Package backend declares the operations the Dream forward pass needs from
// a compute device. The model (runtime/model) is written once against
// Backend; runtime/backend/cpu is the pure-Go reference implementation and a
// CUDA implementation plugs in behind the same interface.
//
// Every tensor is a device-resident, row-major float32 matrix [Rows, Cols]
// (a vector is [1, n]). Activations are [tokens, features]; weights are
// stored as in the checkpoint, [out, in], so a linear layer is x·Wᵀ.
// Operations never allocate their outputs: the caller passes an out tensor
// of the right shape, allocated with Alloc. Shapes are checked and a
// mismatch is an error (a programmer bug, reported instead of a panic).
//
// Operations may run asynchronously on a device; Read is the only point
// where results reach the host and it waits for all earlier work.
package backend

import (
	"errors"
	"fmt"
	"slices"
)

// Tensor is an opaque handle to a device-resident float32 matrix. Only the
// backend that created a tensor may use it.
type Tensor interface {
	Rows() int
	Cols() int
}

// AttentionParams describes one bidirectional multi-head attention call
// over packed sequences.
type AttentionParams struct {
	Heads   int // query heads
	KVHeads int // key/value heads; Heads must be a multiple (GQA: KV head h/(Heads/KVHeads) serves query head h)
	HeadDim int
	// SeqLens splits the token rows into consecutive independent sequences
	// (each attends only within itself). Nil means one sequence of all rows.
	SeqLens []int
	// Valid marks which token rows take part (nil: all). Query i attends to
	// key j only when Valid[i] && Valid[j] and both are in the same
	// sequence, matching Dream's padding mask m[:,None,:]∧m[:,:,None]. A
	// row with no allowed key (an invalid row) gets an all-zero output, not
	// NaN.
	Valid []bool
}

// CheckAttention validates shapes and parameters for an Attention call
// (q [T, Heads·HeadDim], k and v [T, KVHeads·HeadDim], out like q) and
// returns the sequence lengths (nil expanded to one sequence of T rows).
// Backends add their own limits (aliasing, kernel sizes) after it.
func CheckAttention(out, q, k, v Tensor, p AttentionParams) (seqLens []int, err error) {
	T := q.Rows()
	H, KVH, hd := p.Heads, p.KVHeads, p.HeadDim
	if H <= 0 || KVH <= 0 || hd <= 0 || H%KVH != 0 ||
		q.Cols() != H*hd || out.Rows() != T || out.Cols() != H*hd ||
		k.Rows() != T || v.Rows() != T || k.Cols() != KVH*hd || v.Cols() != KVH*hd {
		return nil, ShapeError("attention", "q [%d,%d] k [%d,%d] v [%d,%d] out [%d,%d] heads %d/%d × %d",
			q.Rows(), q.Cols(), k.Rows(), k.Cols(), v.Rows(), v.Cols(), out.Rows(), out.Cols(), H, KVH, hd)
	}
	if p.Valid != nil && len(p.Valid) != T {
		return nil, ShapeError("attention", "%d validity flags for %d rows", len(p.Valid), T)
	}
	seqLens = p.SeqLens
	if seqLens == nil {
		seqLens = []int{T}
	}
	total := 0
	for _, n := range seqLens {
		if n < 0 {
			return nil, ShapeError("attention", "negative sequence length %d", n)
		}
		total += n
	}
	if total != T {
		return nil, ShapeError("attention", "sequence lengths sum to %d, want %d rows", total, T)
	}
	return seqLens, nil
}

// Backend is the set of operations the Dream forward pass uses. All
// methods are safe for use by one goroutine at a time; a backend may use
// many threads inside each call.
type Backend interface {
	// Name is a short identifier ("cpu", "cuda") for logs and status.
	Name() string

	// Upload copies rows×cols host values (row-major) into a new tensor.
	Upload(data []float32, rows, cols int) (Tensor, error)
	// Alloc returns a new zero-filled tensor of shape [rows, cols].
	Alloc(rows, cols int) (Tensor, error)
	// Free releases a tensor's device memory. Using t afterwards is a bug.
	Free(t Tensor)
	// Read copies t (row-major) into dst, which must hold Rows×Cols values,
	// after all previously issued operations have finished.
	Read(t Tensor, dst []float32) error

	// Embed gathers table rows: out[i,:] = table[ids[i],:]. Every id must be
	// in [0, table.Rows()); out is [len(ids), table.Cols()].
	Embed(out, table Tensor, ids []int) error
	// GatherRows copies selected rows: out[i,:] = x[rows[i],:].
	GatherRows(out, x Tensor, rows []int) error
	// MatMul computes out[T,N] = x[T,K]·w[N,K]ᵀ (+ bias[1,N] broadcast over
	// rows when bias is non-nil). out must not alias x.
	MatMul(out, x, w, bias Tensor) error
	// RMSNorm computes out[i,:] = x[i,:]·rsqrt(mean(x[i,:]²)+eps) ⊙ weight,
	// with weight [1, Cols]. out may alias x.
	RMSNorm(out, x, weight Tensor, eps float32) error
	// RoPE rotates x [T, heads·headDim] in place with Dream's NeoX
	// "rotate-half" layout: within each head, dimension i pairs with
	// i+headDim/2, angle positions[t]·theta^(−2i/headDim).
	RoPE(x Tensor, heads, headDim int, positions []int, theta float64) error
	// Attention computes softmax(q·kᵀ/√headDim)·v per head without a causal
	// mask. q and out are [T, Heads·HeadDim]; k and v are [T, KVHeads·HeadDim].
	Attention(out, q, k, v Tensor, p AttentionParams) error
	// SiLUMul computes out = silu(gate) ⊙ up elementwise (SwiGLU). out may
	// alias gate or up.
	SiLUMul(out, gate, up Tensor) error
	// Add computes out = a + b elementwise. out may alias a or b.
	Add(out, a, b Tensor) error

	// Close releases everything the backend holds.
	Close() error
}

// ErrShape is wrapped by errors about tensor shapes or arguments that do
// not fit an operation.
var ErrShape = errors.New("backend: bad shape")

// ShapeError returns an error wrapping ErrShape that names the operation.
func ShapeError(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrShape, op, fmt.Sprintf(format, args...))
}

// WeightFormat is how a weight matrix is kept on a backend. Weights kept
// in their stored precision take half (bf16, f16) or about a quarter
// (q8_0) of float32's memory and memory traffic; matmuls read them
// directly and accumulate in float32.
type WeightFormat string

// The weight formats. Q8_0 is GGUF's: each row is split into blocks of 32
// values stored as a little-endian float16 scale d followed by 32 int8
// quants q (34 bytes), the value being d·q.
const (
	WeightF32  WeightFormat = "f32"
	WeightBF16 WeightFormat = "bf16"
	WeightF16  WeightFormat = "f16"
	WeightQ8_0 WeightFormat = "q8_0"
	// Q4_K and Q6_K are GGUF's k-quants (the two a Q4_K_M file mixes):
	// super-blocks of 256 values, 144 and 210 bytes, laid out as ggml's
	// block_q4_K and block_q6_K. They are read from GGUF files, never
	// produced by a conversion at load.
	WeightQ4_K WeightFormat = "q4_K"
	WeightQ6_K WeightFormat = "q6_K"
	// Q5_0 is what llama-quantize writes in a Q4_K_M file for a Q4_K
	// tensor whose rows are not a multiple of 256 (Q6_K falls back to
	// Q8_0): blocks of 32 values, a float16 d, 4 bytes of fifth bits and
	// 16 bytes of 4-bit quants (22 bytes), the value being d·(q−16).
	WeightQ5_0 WeightFormat = "q5_0"
	// The other block formats llama-quantize writes that Dream GGUF files
	// come in (Q4_0 … Q5_K_M, IQ4_NL, IQ4_XS), laid out as ggml's
	// block_q4_0, block_q4_1, block_q5_1, block_iq4_nl (32 values a block)
	// and block_q2_K, block_q3_K, block_q5_K, block_iq4_xs (256). Like
	// Q4_K they are read from GGUF files only (GGUFOnly).
	WeightQ4_0   WeightFormat = "q4_0"
	WeightQ4_1   WeightFormat = "q4_1"
	WeightQ5_1   WeightFormat = "q5_1"
	WeightIQ4_NL WeightFormat = "iq4_nl"
	WeightQ2_K   WeightFormat = "q2_K"
	WeightQ3_K   WeightFormat = "q3_K"
	WeightQ5_K   WeightFormat = "q5_K"
	WeightIQ4_XS WeightFormat = "iq4_xs"
	// The importance-matrix formats llama-quantize writes given an
	// importance matrix (the "i1" files: IQ1_S … IQ3_M), the ternary
	// TQ1_0 and TQ2_0 and the FP4 formats MXFP4 and NVFP4, laid out as
	// ggml's block_iq1_s, block_iq1_m, block_iq2_xxs, block_iq2_xs,
	// block_iq2_s, block_iq3_xxs, block_iq3_s, block_tq1_0, block_tq2_0
	// (256 values a block), block_mxfp4 (32) and block_nvfp4 (64). Read
	// from GGUF files only.
	WeightIQ1_S   WeightFormat = "iq1_s"
	WeightIQ1_M   WeightFormat = "iq1_m"
	WeightIQ2_XXS WeightFormat = "iq2_xxs"
	WeightIQ2_XS  WeightFormat = "iq2_xs"
	WeightIQ2_S   WeightFormat = "iq2_s"
	WeightIQ3_XXS WeightFormat = "iq3_xxs"
	WeightIQ3_S   WeightFormat = "iq3_s"
	WeightTQ1_0   WeightFormat = "tq1_0"
	WeightTQ2_0   WeightFormat = "tq2_0"
	WeightMXFP4   WeightFormat = "mxfp4"
	WeightNVFP4   WeightFormat = "nvfp4"
)

// Q5BlockBytes is the size in bytes of a Q5_0 block of Q8BlockSize values.
const Q5BlockBytes = 22

// KBlockSize is the number of values in one k-quant super-block;
// Q4KBlockBytes and Q6KBlockBytes are the block sizes in bytes.
const (
	KBlockSize    = 256
	Q4KBlockBytes = 144
	Q6KBlockBytes = 210
)

// Q8BlockSize is the number of values in one Q8_0 block; Q8BlockBytes its
// size in bytes.
const (
	Q8BlockSize  = 32
	Q8BlockBytes = 34
)

// blockFormats gives each block format's values and bytes a block.
var blockFormats = map[WeightFormat][2]int{
	WeightQ8_0:    {Q8BlockSize, Q8BlockBytes},
	WeightQ5_0:    {Q8BlockSize, Q5BlockBytes},
	WeightQ4_0:    {Q8BlockSize, 18},
	WeightQ4_1:    {Q8BlockSize, 20},
	WeightQ5_1:    {Q8BlockSize, 24},
	WeightIQ4_NL:  {Q8BlockSize, 18},
	WeightQ4_K:    {KBlockSize, Q4KBlockBytes},
	WeightQ6_K:    {KBlockSize, Q6KBlockBytes},
	WeightQ2_K:    {KBlockSize, 84},
	WeightQ3_K:    {KBlockSize, 110},
	WeightQ5_K:    {KBlockSize, 176},
	WeightIQ4_XS:  {KBlockSize, 136},
	WeightIQ1_S:   {KBlockSize, 50},
	WeightIQ1_M:   {KBlockSize, 56},
	WeightIQ2_XXS: {KBlockSize, 66},
	WeightIQ2_XS:  {KBlockSize, 74},
	WeightIQ2_S:   {KBlockSize, 82},
	WeightIQ3_XXS: {KBlockSize, 98},
	WeightIQ3_S:   {KBlockSize, 110},
	WeightTQ1_0:   {KBlockSize, 54},
	WeightTQ2_0:   {KBlockSize, 66},
	WeightMXFP4:   {Q8BlockSize, 17},
	WeightNVFP4:   {64, 36},
}

// Block returns the values and bytes of one block of a block format
// (Q8_0, the k-quants, …), or false for f32, bf16, f16 and unknown
// formats.
func (f WeightFormat) Block() (values, bytes int, ok bool) {
	b, ok := blockFormats[f]
	return b[0], b[1], ok
}

// GGUFOnly reports whether f is read from GGUF files only, never produced
// by a conversion at load: every block format but Q8_0 (llama-quantize's
// choices of scales, an iterative search for the k-quants, are not
// reproduced here).
func (f WeightFormat) GGUFOnly() bool {
	_, ok := blockFormats[f]
	return ok && f != WeightQ8_0
}

// GGUFOnlyFormats returns the formats GGUFOnly reports, sorted by name.
func GGUFOnlyFormats() []WeightFormat {
	var fs []WeightFormat
	for f := range blockFormats {
		if f.GGUFOnly() {
			fs = append(fs, f)
		}
	}
	slices.Sort(fs)
	return fs
}

// RowBytes returns the bytes of one row of cols values in format f, or
// false when f is unknown or cols does not fit it (a block format needs
// a multiple of its block: 32 values, 64 for NVFP4, or 256 for the
// k-quants and the IQ and TQ formats).
func (f WeightFormat) RowBytes(cols int) (int, bool) {
	if cols < 0 {
		return 0, false
	}
	switch f {
	case WeightF32:
		return 4 * cols, true
	case WeightBF16, WeightF16:
		return 2 * cols, true
	}
	n, b, ok := f.Block()
	if !ok || cols%n != 0 {
		return 0, false
	}
	return cols / n * b, true
}

// WeightUploader is implemented by backends whose MatMul (as w) and Embed
// (as table) accept weight tensors in stored formats. Other operations
// take float32 tensors only.
type WeightUploader interface {
	// UploadWeight makes a [rows, cols] weight tensor from row-major,
	// little-endian data in format f. A backend may use data in place
	// (for example a memory-mapped file): the caller keeps it alive and
	// unmodified until the tensor is freed.
	UploadWeight(data []byte, f WeightFormat, rows, cols int) (Tensor, error)
}

// DisposableUploader is implemented by backends that may keep a weight in
// a layout of their own (the CPU's AMX tiles): UploadDisposableWeight is
// UploadWeight for data the caller will not read again (a conversion made
// for this backend), whose pages the backend may hand back to the
// operating system, contents lost, once it holds its own lossless copy.
// The caller still keeps data's memory mapped until the tensor is freed,
// and frees it as before. Without it, a converted weight stays resident
// twice: once as converted, once as the backend's copy.
type DisposableUploader interface {
	UploadDisposableWeight(data []byte, f WeightFormat, rows, cols int) (Tensor, error)
}
