package model

import (
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// WeightMode chooses the format the big linear weights (q/k/v/o,
// gate/up/down, lm_head and the embedding table) are kept in on backends
// that multiply by stored formats directly (backend.WeightUploader).
// Norms and biases are always float32.
type WeightMode string

// The weight modes. Auto keeps each weight in its stored precision (bf16
// and f16 in place, memory-mapped; f32 as float32; GGUF's Q8_0 as is);
// the others convert at load (Q8_0 quantizes as ggml does; a weight whose
// rows are not a multiple of 32 stays as auto would keep it).
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

// convertRows is how many rows a conversion decodes to float32 at a time,
// so that quantizing a large stored tensor never holds it all as float32.
const convertRows = 256

// storedWeight returns the big weight name [rows, cols] as a backend
// tensor in the format mode asks for, or ok=false when it should be
// loaded as float32 (mode f32, a backend without stored formats, a
// float32 source under auto).
func storedWeight(be backend.Backend, src WeightSource, mode WeightMode, name string, rows, cols int, inPlace *bool, frees *[]func()) (t backend.Tensor, ok bool, err error) {
	up, can := be.(backend.WeightUploader)
	if !can || mode == WeightsF32 {
		return nil, false, nil
	}
	want := backend.WeightFormat("")
	switch mode {
	case WeightsBF16:
		want = backend.WeightBF16
	case WeightsQ8_0:
		if cols%backend.Q8BlockSize == 0 {
			want = backend.WeightQ8_0
		}
	}
	rs, isRaw := src.(RawSource)
	if !isRaw {
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
		enc, err := quant.Encode(want, data, rows, cols)
		if err != nil {
			return nil, false, fmt.Errorf("model: convert %s: %w", name, err)
		}
		dst, free := quant.Alloc(len(enc))
		copy(dst, enc)
		*frees = append(*frees, free)
		t, err := up.UploadWeight(dst, want, rows, cols)
		return t, err == nil, err
	}
	raw, have, shape, err := rs.Raw(name)
	if err != nil {
		return nil, false, fmt.Errorf("model: load %s: %w", name, err)
	}
	if !equalShape(shape, []int{rows, cols}) {
		return nil, false, fmt.Errorf("model: tensor %s has shape %v, config wants %v", name, shape, []int{rows, cols})
	}
	if want == "" || want == have {
		if have == backend.WeightF32 {
			return nil, false, nil
		}
		t, err := up.UploadWeight(raw, have, rows, cols)
		if err != nil {
			return nil, false, fmt.Errorf("model: upload %s: %w", name, err)
		}
		*inPlace = true
		return t, true, nil
	}
	// Convert chunk by chunk: decode rows to float32, encode them.
	inRow, ok1 := have.RowBytes(cols)
	outRow, ok2 := want.RowBytes(cols)
	if !ok1 || !ok2 || len(raw) != rows*inRow {
		return nil, false, fmt.Errorf("model: tensor %s: %d bytes of %s for [%d,%d]", name, len(raw), have, rows, cols)
	}
	dst, free := quant.Alloc(rows * outRow)
	*frees = append(*frees, free)
	for r0 := 0; r0 < rows; r0 += convertRows {
		r1 := min(r0+convertRows, rows)
		v, err := quant.Decode(have, raw[r0*inRow:r1*inRow], r1-r0, cols)
		if err != nil {
			return nil, false, fmt.Errorf("model: convert %s: %w", name, err)
		}
		enc, err := quant.Encode(want, v, r1-r0, cols)
		if err != nil {
			return nil, false, fmt.Errorf("model: convert %s: %w", name, err)
		}
		copy(dst[r0*outRow:], enc)
	}
	if r, ok := src.(interface{ Release(name string) }); ok {
		r.Release(name) // the stored bytes are not needed any more
	}
	t, err = up.UploadWeight(dst, want, rows, cols)
	if err != nil {
		return nil, false, fmt.Errorf("model: upload %s: %w", name, err)
	}
	return t, true, nil
}

// UsesSourceMemory reports whether some weights use the source's bytes
// in place (the source must then stay open until Close); when false the
// source can be closed right after loading.
func (m *Model) UsesSourceMemory() bool { return m.inPlace }

// DebugLayerWeight returns layer 0's q projection weight (for tests that
// check which format a mode chose).
func (m *Model) DebugLayerWeight() backend.Tensor { return m.layers[0].q }
