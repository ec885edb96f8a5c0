package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// TensorData is one tensor to write with Write.
type TensorData struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte // little-endian, len = elements × DType.Size()
}

// FromFloat32 encodes values as dtype d (BF16 rounds to nearest even, F16
// rounds to nearest even with overflow to infinity).
func FromFloat32(d DType, values []float32) []byte {
	switch d {
	case BF16:
		out := make([]byte, 2*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint16(out[2*i:], Float32ToBF16(v))
		}
		return out
	case F16:
		out := make([]byte, 2*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint16(out[2*i:], Float32ToF16(v))
		}
		return out
	case F32:
		out := make([]byte, 4*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out
	}
	return nil
}

// Float32ToBF16 rounds f to the nearest bfloat16 (ties to even), keeping
// NaN a NaN.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it quiet and non-zero
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// Float32ToF16 rounds f to the nearest IEEE half (ties to even).
func Float32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff:
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15:
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		e := uint32(exp-127+15) << 10
		m := mant >> 13
		r := mant & 0x1fff
		v := e | m
		if r > 0x1000 || (r == 0x1000 && v&1 == 1) {
			v++ // may carry into the exponent, which is correct (up to Inf)
		}
		return sign | uint16(v)
	case exp-127 < -25:
		return sign
	}
	// Subnormal half: value = m × 2^-24.
	full := mant | 0x800000 // 24-bit significand, value = full × 2^(exp-127-23)
	shift := uint(-(exp - 127 - 23) - 24)
	m := full >> shift
	r := full & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if r > half || (r == half && m&1 == 1) {
		m++
	}
	return sign | uint16(m)
}

// Write writes a safetensors file holding tensors (stored in name order)
// and the given metadata. It checks that each tensor's data matches its
// dtype and shape.
func Write(w io.Writer, tensors []TensorData, metadata map[string]string) error {
	ts := append([]TensorData(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr[MetadataKey] = metadata
	}
	var off int64
	for _, t := range ts {
		if !t.DType.Supported() {
			return fmt.Errorf("weights: write tensor %q: %w: %s", t.Name, ErrUnsupported, t.DType)
		}
		n := int64(t.DType.Size())
		for _, d := range t.Shape {
			n *= int64(d)
		}
		if n != int64(len(t.Data)) {
			return fmt.Errorf("weights: write tensor %q: %d bytes, %s%v needs %d", t.Name, len(t.Data), t.DType, t.Shape, n)
		}
		if _, dup := hdr[t.Name]; dup || t.Name == MetadataKey {
			return fmt.Errorf("weights: write tensor %q: duplicate name", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("weights: write header: %w", err)
	}
	// Pad the header with spaces to a multiple of 8, as the reference
	// writer does, so the data section is aligned.
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("weights: write: %w", err)
	}
	if _, err := w.Write(js); err != nil {
		return fmt.Errorf("weights: write: %w", err)
	}
	for _, t := range ts {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("weights: write tensor %q: %w", t.Name, err)
		}
	}
	return nil
}
