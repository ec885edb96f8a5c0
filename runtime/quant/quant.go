// Package quant converts weights between float32 and the stored formats
// the backends multiply by directly (bfloat16, float16 and GGUF's Q8_0;
// GGUF's Q4_K, Q6_K and Q5_0 are decoded only), bit for bit as ggml does,
// so that a tensor quantized here and one read from a GGUF file are
// interchangeable.
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
	return dst, EncodeInto(dst, f, src, rows, cols)
}

// EncodeInto is Encode writing into dst, which must hold exactly the
// encoded bytes: a load converts chunk after chunk into the weight's final
// buffer without an intermediate copy.
func EncodeInto(dst []byte, f backend.WeightFormat, src []float32, rows, cols int) error {
	rb, ok := f.RowBytes(cols)
	if !ok || rows < 0 || len(src) != rows*cols || len(dst) != rows*rb {
		return fmt.Errorf("quant: cannot encode [%d,%d] (%d values) as %s into %d bytes", rows, cols, len(src), f, len(dst))
	}
	if f.GGUFOnly() {
		return fmt.Errorf("quant: %s is read from GGUF files, not produced here (quantize with llama.cpp's llama-quantize)", f)
	}
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
	return nil
}

// QuantizeQ8_0 quantizes src (a multiple of 32 values) into Q8_0 blocks
// in dst (len(src)/32·34 bytes) exactly as ggml's quantize_row_q8_0_ref:
// d = max|x|/127, q = roundf(x·(1/d)) (half away from zero, the product
// in float32), d stored as float16.
func QuantizeQ8_0(dst []byte, src []float32) {
	nb := len(src) / backend.Q8BlockSize
	_ = dst[nb*backend.Q8BlockBytes-1]
	for b := range nb {
		x := (*[backend.Q8BlockSize]float32)(src[b*backend.Q8BlockSize:])
		y := (*[backend.Q8BlockBytes]byte)(dst[b*backend.Q8BlockBytes:])
		// |x| as bits orders as the values do (a NaN above every
		// number, as max would give it), without max's NaN branches.
		var abits uint32
		for _, v := range x {
			abits = max(abits, math.Float32bits(v)&0x7fffffff)
		}
		amax := math.Float32frombits(abits)
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(y[:], weights.Float32ToF16(d))
		if !(amax*id < 128) { // NaN, or ±Inf from a subnormal scale
			for j, v := range x {
				y[2+j] = byte(int8(math.Round(float64(v * id))))
			}
			continue
		}
		// |v·id| ≤ amax·id < 128: q ± ½ is exact in float64, so its
		// truncation rounds half away from zero as roundf does, without
		// the branches math.Round takes.
		for j, v := range x {
			q := float64(v * id)
			t := int32(q + math.Copysign(0.5, q))
			y[2+j] = byte(t)
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
	if rows < 0 || cols < 0 {
		return nil, fmt.Errorf("quant: %d bytes do not hold [%d,%d] in %s", len(data), rows, cols, f)
	}
	dst := make([]float32, rows*cols)
	return dst, DecodeInto(dst, f, data, rows, cols)
}

// DecodeInto is Decode writing into dst (exactly rows×cols values), so a
// chunked conversion reuses one buffer.
func DecodeInto(dst []float32, f backend.WeightFormat, data []byte, rows, cols int) error {
	rb, ok := f.RowBytes(cols)
	if !ok || rows < 0 || len(data) != rows*rb || len(dst) != rows*cols {
		return fmt.Errorf("quant: %d bytes do not hold [%d,%d] in %s", len(data), rows, cols, f)
	}
	switch f {
	case backend.WeightF32:
		weights.DecodeFloat32(weights.F32, data, dst)
	case backend.WeightBF16:
		weights.DecodeFloat32(weights.BF16, data, dst)
	case backend.WeightF16:
		weights.DecodeFloat32(weights.F16, data, dst)
	case backend.WeightQ8_0:
		DequantizeQ8_0(dst, data)
	default:
		decoders[f](dst, data) // a GGUF-only block format: RowBytes knew it
	}
	return nil
}
