package model

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// WeightMode chooses the format the big linear weights (q/k/v/o,
// gate/up/down, lm_head and the embedding table) are kept in on backends
// that multiply by stored formats directly (backend.WeightUploader).
// Norms and biases are always float32.
type WeightMode string

// The weight modes. Auto keeps each weight in its stored precision, used
// in place from the memory-mapped file (bf16, f16, GGUF's Q8_0, Q4_K,
// Q6_K and Q5_0, and f32 where the bytes are aligned); the others convert at load (Q8_0
// quantizes as ggml does; a weight whose rows are not a multiple of 32
// stays as auto would keep it), and f32 always copies, so the source can
// be closed after loading.
const (
	WeightsAuto WeightMode = "auto"
	WeightsF32  WeightMode = "f32"
	WeightsBF16 WeightMode = "bf16"
	WeightsQ8_0 WeightMode = "q8_0"
)

// WeightModes lists the valid modes, for flags and messages.
var WeightModes = []WeightMode{WeightsAuto, WeightsF32, WeightsBF16, WeightsQ8_0}

// ParseWeightMode parses a --weights value ("" is auto).
func ParseWeightMode(s string) (WeightMode, error) {
	if s == "" {
		return WeightsAuto, nil
	}
	for _, m := range WeightModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown weight format %q (want one of auto, f32, bf16, q8_0)", s)
}

// RawSource is a WeightSource that can also hand out a tensor's stored
// bytes, so weights can stay in their stored precision without a float32
// copy. The bytes may alias a memory-mapped file: a model loaded with a
// mode other than f32 uses them in place, and the source must stay open
// until the model is closed.
type RawSource interface {
	WeightSource
	// Raw returns the named tensor's bytes, their format (row-major,
	// little-endian) and its shape.
	Raw(name string) (data []byte, format backend.WeightFormat, shape []int, err error)
}

// LoadOptions configures LoadWith.
type LoadOptions struct {
	// Weights is the weight mode ("": auto).
	Weights WeightMode
}

// Raw implements RawSource for safetensors checkpoints (BF16, F16, F32).
func (s ckptSource) Raw(name string) ([]byte, backend.WeightFormat, []int, error) {
	t, ok := s.c.Tensor(name)
	if !ok {
		return nil, "", nil, fmt.Errorf("tensor %s: %w", name, ErrMissingTensor)
	}
	data, err := s.c.Raw(name)
	if err != nil {
		return nil, "", nil, err
	}
	var f backend.WeightFormat
	switch t.DType {
	case weights.BF16:
		f = backend.WeightBF16
	case weights.F16:
		f = backend.WeightF16
	case weights.F32:
		f = backend.WeightF32
	default:
		return nil, "", nil, fmt.Errorf("tensor %s: dtype %s: %w", name, t.DType, weights.ErrUnsupported)
	}
	return data, f, t.Shape, nil
}

// Release takes a converted tensor's pages of the mapped checkpoint out
// of the resident set (weights.Checkpoint.Release).
func (s ckptSource) Release(name string) { s.c.Release(name) }

// StoredFormat is the one place the storage choice is made: the format a
// big weight with cols columns, stored as have ("" when the source only
// yields float32), is kept in under mode on a backend with stored formats
// (backend.WeightUploader), or "" for float32. Auto keeps the stored
// format; q8_0 needs cols to be a multiple of 32 and otherwise keeps
// what auto would.
func StoredFormat(mode WeightMode, have backend.WeightFormat, cols int) backend.WeightFormat {
	switch mode {
	case WeightsF32:
		return ""
	case WeightsBF16:
		return backend.WeightBF16
	case WeightsQ8_0:
		if cols%backend.Q8BlockSize == 0 {
			return backend.WeightQ8_0
		}
	}
	if have == backend.WeightF32 {
		return ""
	}
	return have
}

// BytesPerWeight estimates the memory a parameter of src takes once
// loaded under mode (on a backend with stored formats), from the format
// StoredFormat picks for the embedding, the largest tensor. A RawSource's
// Raw must be cheap (a mapped file). Memory-mapped weights count: their
// pages are resident once read.
func BytesPerWeight(cfg Config, src WeightSource, mode WeightMode) float64 {
	have := backend.WeightFormat("")
	if rs, ok := src.(RawSource); ok {
		if _, f, _, err := rs.Raw(TensorEmbed); err == nil {
			have = f
		}
	}
	f := StoredFormat(mode, have, cfg.HiddenSize)
	if rb, ok := f.RowBytes(cfg.HiddenSize); ok && f != "" && cfg.HiddenSize > 0 {
		return float64(rb) / float64(cfg.HiddenSize)
	}
	return 4
}

// convertValues is how many values a conversion worker decodes to float32
// at a time (1 MiB), so that quantizing a large stored tensor never holds
// it all as float32.
const convertValues = 1 << 18

// convertBufs holds the workers' float32 buffers (convertValues each)
// from one weight to the next.
var convertBufs = sync.Pool{New: func() any { b := make([]float32, convertValues); return &b }}

// storedWeight returns the big weight name [rows, cols] as a backend
// tensor in the format StoredFormat picks, or ok=false when get should
// load it as float32 (mode f32, a backend without stored formats, float32
// under auto that cannot stay in place). Under auto a float32 tensor of a
// mapped file stays in place too (wrapped, no copy).
func storedWeight(be backend.Backend, src WeightSource, mode WeightMode, name string, rows, cols int, inPlace *bool, frees *[]func()) (t backend.Tensor, ok bool, err error) {
	rs, isRaw := src.(RawSource)
	if mode == WeightsF32 {
		if !isRaw {
			return nil, false, nil
		}
		return offHeapFloat32(be, rs, name, rows, cols, frees)
	}
	up, can := be.(backend.WeightUploader)
	if !can {
		return nil, false, nil
	}
	if !isRaw {
		want := StoredFormat(mode, "", cols)
		if want == "" {
			return nil, false, nil
		}
		data, shape, err := src.Float32(name)
		if err != nil {
			return nil, false, fmt.Errorf("model: load %s: %w", name, err)
		}
		if !equalShape(shape, []int{rows, cols}) {
			return nil, false, fmt.Errorf("model: tensor %s has shape %v, config wants %v", name, shape, []int{rows, cols})
		}
		dst, err := convert(want, rows, cols, frees, func(_ []float32, r0, r1 int) ([]float32, error) {
			return data[r0*cols : r1*cols], nil
		})
		if err != nil {
			return nil, false, fmt.Errorf("model: convert %s: %w", name, err)
		}
		t, err := uploadConverted(up, dst, want, rows, cols)
		return t, err == nil, err
	}
	raw, have, err := rawWeight(rs, name, rows, cols)
	if err != nil {
		return nil, false, err
	}
	want := StoredFormat(mode, have, cols)
	if want == "" {
		if have != backend.WeightF32 || mode != WeightsAuto {
			return nil, false, nil
		}
		v, ok := float32View(raw, rows*cols)
		w, can := be.(wrapper)
		if !ok || !can {
			return nil, false, nil
		}
		t, err := w.Wrap(v, rows, cols)
		if err != nil {
			return nil, false, fmt.Errorf("model: wrap %s: %w", name, err)
		}
		*inPlace = true
		return t, true, nil
	}
	if want == have {
		t, err := up.UploadWeight(raw, have, rows, cols)
		if err != nil {
			return nil, false, fmt.Errorf("model: upload %s: %w", name, err)
		}
		*inPlace = true
		return t, true, nil
	}
	dst, err := convertRaw(rs, name, raw, have, want, rows, cols, frees)
	if err != nil {
		return nil, false, err
	}
	t, err = uploadConverted(up, dst, want, rows, cols)
	if err != nil {
		return nil, false, fmt.Errorf("model: upload %s: %w", name, err)
	}
	return t, true, nil
}

// uploadConverted uploads a weight converted at load (dst: ours, read
// by nothing else), as disposable where the backend can drop it once it
// holds its own copy.
func uploadConverted(up backend.WeightUploader, dst []byte, f backend.WeightFormat, rows, cols int) (backend.Tensor, error) {
	if d, ok := up.(backend.DisposableUploader); ok {
		return d.UploadDisposableWeight(dst, f, rows, cols)
	}
	return up.UploadWeight(dst, f, rows, cols)
}

// offHeapFloat32 copies a stored weight as float32 into memory outside
// the Go heap and wraps it (the CPU backend): a copy, so the source can be
// closed after loading, that does not count toward the heap the garbage
// collector paces itself by (2.4 GB of heap weights let garbage grow by as
// much again). ok=false leaves it to get's heap copy.
func offHeapFloat32(be backend.Backend, rs RawSource, name string, rows, cols int, frees *[]func()) (backend.Tensor, bool, error) {
	w, can := be.(wrapper)
	if !can || !littleEndian {
		return nil, false, nil
	}
	raw, have, err := rawWeight(rs, name, rows, cols)
	if err != nil {
		return nil, false, err
	}
	dst, err := convertRaw(rs, name, raw, have, backend.WeightF32, rows, cols, frees)
	if err != nil {
		return nil, false, err
	}
	v, ok := float32View(dst, rows*cols)
	if !ok { // an empty weight
		return nil, false, nil
	}
	t, err := w.Wrap(v, rows, cols)
	if err != nil {
		return nil, false, fmt.Errorf("model: wrap %s: %w", name, err)
	}
	return t, true, nil
}

// rawWeight returns the stored bytes and format of the weight name,
// checked to be [rows, cols].
func rawWeight(rs RawSource, name string, rows, cols int) ([]byte, backend.WeightFormat, error) {
	raw, have, shape, err := rs.Raw(name)
	if err != nil {
		return nil, "", fmt.Errorf("model: load %s: %w", name, err)
	}
	if !equalShape(shape, []int{rows, cols}) {
		return nil, "", fmt.Errorf("model: tensor %s has shape %v, config wants %v", name, shape, []int{rows, cols})
	}
	return raw, have, nil
}

// convertRaw converts the stored weight name (raw, in have) to want with
// convert, then releases the stored bytes, which are not needed any more.
func convertRaw(rs RawSource, name string, raw []byte, have, want backend.WeightFormat, rows, cols int, frees *[]func()) ([]byte, error) {
	inRow, ok := have.RowBytes(cols)
	if !ok || len(raw) != rows*inRow {
		return nil, fmt.Errorf("model: tensor %s: %d bytes of %s for [%d,%d]", name, len(raw), have, rows, cols)
	}
	dst, err := convert(want, rows, cols, frees, func(buf []float32, r0, r1 int) ([]float32, error) {
		return buf, quant.DecodeInto(buf, have, raw[r0*inRow:r1*inRow], r1-r0, cols)
	})
	if err != nil {
		return nil, fmt.Errorf("model: convert %s: %w", name, err)
	}
	if r, ok := rs.(interface{ Release(name string) }); ok {
		r.Release(name)
	}
	return dst, nil
}

// convert encodes a [rows, cols] weight as want into a buffer outside the
// Go heap (its free appended to frees), chunk by chunk on every core:
// rowsOf yields rows [r0, r1) as float32, in buf (len (r1−r0)·cols: a
// buffer the worker reuses, or for float32 out the rows of the result
// itself) or a slice of its own.
func convert(want backend.WeightFormat, rows, cols int, frees *[]func(), rowsOf func(buf []float32, r0, r1 int) ([]float32, error)) ([]byte, error) {
	outRow, ok := want.RowBytes(cols)
	if !ok {
		return nil, fmt.Errorf("%d columns cannot be stored as %s", cols, want)
	}
	dst, free := quant.Alloc(rows * outRow)
	*frees = append(*frees, free)
	// float32 out: rows are decoded straight into dst (no encode pass).
	var view []float32
	if want == backend.WeightF32 {
		view, _ = float32View(dst, rows*cols)
	}
	chunk := max(1, convertValues/max(cols, 1))
	var (
		next   atomic.Int64
		mu     sync.Mutex
		first  error
		failed atomic.Bool
		wg     sync.WaitGroup
	)
	workers := min(runtime.GOMAXPROCS(0), (rows+chunk-1)/chunk)
	for range workers {
		wg.Go(func() {
			var buf []float32
			if chunk*cols <= convertValues {
				p := convertBufs.Get().(*[]float32)
				defer convertBufs.Put(p)
				buf = *p
			} else {
				buf = make([]float32, chunk*cols) // one row over 1 MiB
			}
			for !failed.Load() {
				r0 := int(next.Add(int64(chunk))) - chunk
				if r0 >= rows {
					return
				}
				r1 := min(r0+chunk, rows)
				var err error
				if view != nil {
					out := view[r0*cols : r1*cols]
					var v []float32
					if v, err = rowsOf(out, r0, r1); err == nil && len(v) > 0 && &v[0] != &out[0] {
						copy(out, v)
					}
				} else {
					var v []float32
					if v, err = rowsOf(buf[:(r1-r0)*cols], r0, r1); err == nil {
						err = quant.EncodeInto(dst[r0*outRow:r1*outRow], want, v, r1-r0, cols)
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return dst, first
}

// float32View returns b (n little-endian float32 values) as a []float32
// without a copy, when the host is little-endian and b is 4-byte aligned.
func float32View(b []byte, n int) ([]float32, bool) {
	if n == 0 || len(b) != 4*n || uintptr(unsafe.Pointer(&b[0]))%4 != 0 || !littleEndian {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n), true
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// UsesSourceMemory reports whether some weights use the source's bytes
// in place (the source must then stay open until Close); when false the
// source can be closed right after loading.
func (m *Model) UsesSourceMemory() bool { return m.inPlace }

// LinearWeight returns layer 0's q projection: a big linear weight, kept
// in the format the weight mode chose for them (the engine logs whether
// --matmul bf16 applies to it; tests check the mode's choice).
func (m *Model) LinearWeight() backend.Tensor { return m.layers[0].q }
