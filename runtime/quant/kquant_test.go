package quant

import (
	"encoding/binary"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// TestDequantizeQ4_KLayout packs one block by hand from the layout ggml
// documents (6-bit scales and mins, the last four split into low nibbles
// in bytes 8–11 and high bits in the top of bytes 0–7) and checks every
// value, including scales and mins above 15.
func TestDequantizeQ4_KLayout(t *testing.T) {
	var blk [backend.Q4KBlockBytes]byte
	binary.LittleEndian.PutUint16(blk[0:], 0x3c00) // d = 1
	binary.LittleEndian.PutUint16(blk[2:], 0x3800) // dmin = 0.5
	var sc, mn [8]byte
	for j := range 8 {
		sc[j], mn[j] = byte(7*j+3)&63, byte(11*j+5)&63
	}
	sc[5], mn[6] = 63, 62
	s := blk[4:16]
	for j := range 4 {
		s[j] = sc[j] | (sc[j+4]>>4)<<6
		s[j+4] = mn[j] | (mn[j+4]>>4)<<6
		s[j+8] = sc[j+4]&0xf | (mn[j+4]&0xf)<<4
	}
	for l := range 128 {
		blk[16+l] = byte(l*37 + 11)
	}
	got := make([]float32, 256)
	DequantizeQ4_K(got, blk[:])
	for j := range 8 {
		for l := range 32 {
			q := blk[16+32*(j/2)+l]
			if j%2 == 0 {
				q &= 0xf
			} else {
				q >>= 4
			}
			want := float32(sc[j])*float32(q) - 0.5*float32(mn[j])
			if g := got[32*j+l]; g != want {
				t.Fatalf("sub-block %d value %d: %g, want %g (sc %d, min %d, q %d)", j, l, g, want, sc[j], mn[j], q)
			}
		}
	}
}

// TestDequantizeQ6_KLayout does the same for Q6_K: value i of each
// 128-value half takes its low nibble from ql (bytes 0–31 or 32–63, low or
// high nibble), its high two bits from qh, and scale i/16.
func TestDequantizeQ6_KLayout(t *testing.T) {
	var blk [backend.Q6KBlockBytes]byte
	for i := range 192 {
		blk[i] = byte(i*53 + 7)
	}
	for i := range 16 {
		blk[192+i] = byte(int8(i*9 - 70))
	}
	binary.LittleEndian.PutUint16(blk[208:], 0x3400) // d = 0.25
	got := make([]float32, 256)
	DequantizeQ6_K(got, blk[:])
	for i := range 256 {
		h, k := i/128, i%128
		quarter, l := k/32, k%32
		ql := blk[64*h+l+32*(quarter%2)]
		lo := ql & 0xf
		if quarter >= 2 {
			lo = ql >> 4
		}
		hi := blk[128+32*h+l] >> (2 * quarter) & 3
		q := int(lo|hi<<4) - 32
		want := 0.25 * float32(int8(blk[192+i/16])) * float32(q)
		if got[i] != want {
			t.Fatalf("value %d: %g, want %g", i, got[i], want)
		}
	}
}

// TestKQuantDecodeChecks: Decode refuses rows that are not whole
// super-blocks and data of the wrong length; Encode refuses the k-quants.
func TestKQuantDecodeChecks(t *testing.T) {
	for _, tc := range []struct {
		f          backend.WeightFormat
		n          int
		rows, cols int
	}{
		{backend.WeightQ4_K, 144, 1, 255},
		{backend.WeightQ4_K, 144 * 2, 1, 256},
		{backend.WeightQ6_K, 209, 1, 256},
		{backend.WeightQ6_K, 210, 2, 256},
	} {
		if _, err := Decode(tc.f, make([]byte, tc.n), tc.rows, tc.cols); err == nil {
			t.Errorf("Decode %s: %d bytes as [%d,%d] accepted", tc.f, tc.n, tc.rows, tc.cols)
		}
	}
	for _, f := range []backend.WeightFormat{backend.WeightQ4_K, backend.WeightQ6_K} {
		rb, _ := f.RowBytes(256)
		if err := EncodeInto(make([]byte, rb), f, make([]float32, 256), 1, 256); err == nil {
			t.Errorf("EncodeInto %s: no error", f)
		}
		if v, err := Decode(f, make([]byte, 2*rb), 2, 256); err != nil || len(v) != 512 {
			t.Errorf("Decode %s of zero blocks: %v", f, err)
		}
	}
}

// TestDequantizeQ5_0Layout: value j of a block takes its low four bits
// from byte j (j < 16: low nibble; j ≥ 16: high nibble of byte j−16) and
// its fifth bit from bit j of qh; it becomes d·(q−16).
func TestDequantizeQ5_0Layout(t *testing.T) {
	var blk [backend.Q5BlockBytes]byte
	binary.LittleEndian.PutUint16(blk[0:], 0xc000) // d = -2
	binary.LittleEndian.PutUint32(blk[2:], 0xa5c3_0f81)
	for i := range 16 {
		blk[6+i] = byte(i*29 + 3)
	}
	got := make([]float32, 32)
	DequantizeQ5_0(got, blk[:])
	qh := binary.LittleEndian.Uint32(blk[2:])
	for j := range 32 {
		lo := blk[6+j%16] & 0xf
		if j >= 16 {
			lo = blk[6+j%16] >> 4
		}
		q := int(lo) | int(qh>>j&1)<<4
		if want := -2 * float32(q-16); got[j] != want {
			t.Fatalf("value %d: %g, want %g", j, got[j], want)
		}
	}
}
