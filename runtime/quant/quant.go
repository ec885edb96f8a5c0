// Package quant converts weights between float32 and the stored formats
// the backends multiply by directly (bfloat16, float16 and GGUF's Q8_0),
// bit for bit as ggml does, so that a tensor quantized here and one read
// from a GGUF file are interchangeable.
package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// Encode converts src (rows×cols float32, row-major) to format f. Q8_0
// needs cols to be a multiple of 32.
func Encode(f backend.WeightFormat, src []float32, rows, cols int) ([]byte, error) {
	rb, ok := f.RowBytes(cols)
	if !ok || rows < 0 || len(src) != rows*cols {
		return nil, fmt.Errorf("quant: cannot encode [%d,%d] (%d values) as %s", rows, cols, len(src), f)
	}
	dst := make([]byte, rows*rb)
	switch f {
	case backend.WeightF32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case backend.WeightBF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], weights.Float32ToBF16(v))
		}
	case backend.WeightF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], weights.Float32ToF16(v))
		}
	case backend.WeightQ8_0:
		QuantizeQ8_0(dst, src)
	}
	return dst, nil
}

// QuantizeQ8_0 quantizes src (a multiple of 32 values) into Q8_0 blocks
// in dst (len(src)/32·34 bytes) exactly as ggml's quantize_row_q8_0_ref:
// d = max|x|/127, q = round(x/d) half away from zero, d stored as float16.
func QuantizeQ8_0(dst []byte, src []float32) {
	nb := len(src) / backend.Q8BlockSize
	_ = dst[nb*backend.Q8BlockBytes-1]
	for b := range nb {
		x := src[b*backend.Q8BlockSize : (b+1)*backend.Q8BlockSize]
		y := dst[b*backend.Q8BlockBytes : (b+1)*backend.Q8BlockBytes]
		var amax float32
		for _, v := range x {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(y, weights.Float32ToF16(d))
		for j, v := range x {
			y[2+j] = byte(int8(math.Round(float64(v * id))))
		}
	}
}

// DequantizeQ8_0 expands Q8_0 blocks in src into dst (32 values a block).
func DequantizeQ8_0(dst []float32, src []byte) {
	nb := len(dst) / backend.Q8BlockSize
	_ = src[nb*backend.Q8BlockBytes-1]
	for b := range nb {
		y := src[b*backend.Q8BlockBytes : (b+1)*backend.Q8BlockBytes]
		d := weights.F16ToFloat32(binary.LittleEndian.Uint16(y))
		o := dst[b*backend.Q8BlockSize : (b+1)*backend.Q8BlockSize]
		for j := range o {
			o[j] = float32(int8(y[2+j])) * d
		}
	}
}

// Decode expands data in format f (rows×cols values) to float32.
func Decode(f backend.WeightFormat, data []byte, rows, cols int) ([]float32, error) {
	rb, ok := f.RowBytes(cols)
	if !ok || rows < 0 || len(data) != rows*rb {
		return nil, fmt.Errorf("quant: %d bytes do not hold [%d,%d] in %s", len(data), rows, cols, f)
	}
	dst := make([]float32, rows*cols)
	switch f {
	case backend.WeightF32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case backend.WeightBF16:
		for i := range dst {
			dst[i] = weights.BF16ToFloat32(binary.LittleEndian.Uint16(data[2*i:]))
		}
	case backend.WeightF16:
		for i := range dst {
			dst[i] = weights.F16ToFloat32(binary.LittleEndian.Uint16(data[2*i:]))
		}
	case backend.WeightQ8_0:
		DequantizeQ8_0(dst, data)
	}
	return dst, nil
}
