package cpu

import (
	"encoding/binary"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// The 256-value formats without a decoder of their own (Q2_K, Q3_K,
// IQ4_XS) share one vector kernel: each of them is, per group of 16
// values, a scale a times a small signed integer q (or a value of the IQ4
// grid), plus an offset b in Q2_K. decodeBlocks unpacks a block's q
// (eight at a time with 64-bit masks and shifts) and its groups' a and b
// in Go, and decodeAffine (AVX2) turns them into float32, a product then
// a sum, each rounded, as the reference decoders in package quant do
// (their d·q − m is a·q + b with b = −m, the same value), so the values
// are theirs bit for bit. This runs at 0.5–1.2 ns a value on the Xeon VM,
// against 0.2–0.45 for the assembly decoders of the other formats and
// 1.5–9 for the Go references (BenchmarkDecodePanelRow).

// affineChunk is the values decodeBlocks unpacks before each
// decodeAffine call: one super-block.
const affineChunk = 256

const (
	nibbles = 0x0F0F0F0F0F0F0F0F // the low nibble of each byte
	lowBit  = 0x0101010101010101
	twoBits = 0x0303030303030303
)

// less4 subtracts 4 from each byte of v, each in [0, 8), as int8:
// adding 124 cannot carry into the next byte, and flipping the top bit
// takes 128 off.
func less4(v uint64) uint64 { return (v + 0x7C7C7C7C7C7C7C7C) ^ 0x8080808080808080 }

// blockUnpacker says how decodeBlocks unpacks one block x of its format
// into q (the block's values, as int8 quants or, with grid, 4-bit
// indices into the IQ4 grid) and a and b (each 16 values' scale and
// offset): kind picks the unpacker (a switch, not a func value, so the
// buffers stay on the stack); offset says whether the format has offsets.
type blockUnpacker struct {
	kind         int
	offset, grid bool
}

var blockUnpackers = map[backend.WeightFormat]blockUnpacker{
	backend.WeightQ2_K:   {0, true, false},
	backend.WeightQ3_K:   {1, false, false},
	backend.WeightIQ4_XS: {2, false, true},
}

func (u blockUnpacker) unpack(x, q []byte, a, b []float32) {
	switch u.kind {
	case 0:
		unpackQ2_K(x, q, a, b)
	case 1:
		unpackQ3_K(x, q, a)
	case 2:
		unpackIQ4_XS(x, q, a)
	}
}

// affineBlocks reports whether decodeBlocks takes format f.
func affineBlocks(f backend.WeightFormat) bool {
	_, ok := blockUnpackers[f]
	return ok
}

// iq4Grid is the IQ4 grid decodeAffine looks 4-bit indices up in.
var iq4Grid = quant.IQ4Grid()

// decodeBlocks expands the whole blocks src of format f (affineBlocks)
// into dst with decodeAffine, a chunk of affineChunk values at a time.
func decodeBlocks(dst []float32, f backend.WeightFormat, src []byte) {
	u := blockUnpackers[f]
	n, bb, _ := f.Block()
	var (
		q    [affineChunk]byte
		a, b [affineChunk / 16]float32
	)
	var bp *float32
	if u.offset {
		bp = &b[0]
	}
	var grid *int8
	if u.grid {
		grid = &iq4Grid[0]
	}
	for c := 0; c < len(dst); c += affineChunk {
		m := min(affineChunk, len(dst)-c)
		u.unpack(src[:m/n*bb], q[:m], a[:m/16], b[:m/16])
		src = src[m/n*bb:]
		decodeAffine(&dst[c], (*int8)(unsafe.Pointer(&q[0])), &a[0], bp, grid, m/16)
	}
}

// halves writes the low nibbles of the 16 bytes qs to q[0:16] and the
// high ones to q[16:32].
func halves(q, qs []byte) {
	for h := range 2 {
		w := binary.LittleEndian.Uint64(qs[8*h:])
		binary.LittleEndian.PutUint64(q[8*h:], w&nibbles)
		binary.LittleEndian.PutUint64(q[16+8*h:], w>>4&nibbles)
	}
}

func f16At(x []byte) float32 { return weights.F16ToFloat32(binary.LittleEndian.Uint16(x)) }

// The 256-value formats unpack one block a call.

// Q2_K: d·sc·q − dmin·m per 16 values.
func unpackQ2_K(x, q []byte, a, b []float32) {
	x, q, a, b = x[:84], q[:256], a[:16], b[:16]
	d, dmin := f16At(x[80:]), f16At(x[82:])
	for j, sc := range x[:16] {
		a[j], b[j] = d*float32(sc&0xf), -(dmin * float32(sc>>4))
	}
	for g := range 2 {
		for k := range 4 {
			w := binary.LittleEndian.Uint64(x[16+32*g+8*k:])
			o := q[128*g+8*k:]
			binary.LittleEndian.PutUint64(o[0:], w&twoBits)
			binary.LittleEndian.PutUint64(o[32:], w>>2&twoBits)
			binary.LittleEndian.PutUint64(o[64:], w>>4&twoBits)
			binary.LittleEndian.PutUint64(o[96:], w>>6&twoBits)
		}
	}
}

// Q3_K: d·(sc−32)·q, q the low two bits less 4 where the high bit is
// clear.
func unpackQ3_K(x, q []byte, a []float32) {
	x, q, a = x[:110], q[:256], a[:16]
	d := f16At(x[108:])
	sb := x[96:108]
	for j := range 16 {
		lo := sb[j%8] >> (4 * (j / 8)) & 0xf
		hi := sb[8+j%4] >> (2 * (j / 4)) & 3
		a[j] = d * float32(int32(lo|hi<<4)-32)
	}
	for k := range 4 {
		h := binary.LittleEndian.Uint64(x[8*k:])
		for g := range 2 {
			w := binary.LittleEndian.Uint64(x[32+32*g+8*k:])
			o := q[128*g+8*k:]
			hg := h >> (4 * g)
			binary.LittleEndian.PutUint64(o[0:], less4(w&twoBits|(hg&lowBit)<<2))
			binary.LittleEndian.PutUint64(o[32:], less4(w>>2&twoBits|(hg>>1&lowBit)<<2))
			binary.LittleEndian.PutUint64(o[64:], less4(w>>4&twoBits|(hg>>2&lowBit)<<2))
			binary.LittleEndian.PutUint64(o[96:], less4(w>>6&twoBits|(hg>>3&lowBit)<<2))
		}
	}
}

// IQ4_XS: d·(sc−32)·grid[q] per 32 values.
func unpackIQ4_XS(x, q []byte, a []float32) {
	d := f16At(x)
	sh := binary.LittleEndian.Uint16(x[2:])
	for j := range 8 {
		ls := x[4+j/2]>>(4*(j%2))&0xf | byte(sh>>(2*j)&3)<<4
		dl := d * float32(int32(ls)-32)
		a[2*j], a[2*j+1] = dl, dl
		halves(q[32*j:], x[8+16*j:])
	}
}
