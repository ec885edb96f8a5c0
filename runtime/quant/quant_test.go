package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

func TestF16RoundTrip(t *testing.T) {
	// Every finite half widens and narrows back to itself.
	for h := range 1 << 16 {
		f := weights.F16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			if g := weights.Float32ToF16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %#04x narrows to %#04x", h, g)
			}
			continue
		}
		if g := weights.Float32ToF16(f); g != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, g)
		}
	}
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {65504, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00}, {-2, 0xc000},
		{1 + 1.0/2048, 0x3c00},           // tie to even (down)
		{1 + 3.0/2048, 0x3c02},           // tie to even (up)
		{float32(math.Ldexp(1, -24)), 1}, // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0}, // tie to even: zero
		{float32(math.Ldexp(3, -26)), 1}, // above the tie
	} {
		if g := weights.Float32ToF16(tc.f); g != tc.want {
			t.Errorf("weights.Float32ToF16(%g) = %#04x, want %#04x", tc.f, g, tc.want)
		}
	}
}

func TestBF16Rounding(t *testing.T) {
	for _, tc := range []struct {
		bits uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f808001, 0x3f81},
		{0x7f7fffff, 0x7f80}, {0xff800000, 0xff80},
	} {
		if g := weights.Float32ToBF16(math.Float32frombits(tc.bits)); g != tc.want {
			t.Errorf("weights.Float32ToBF16(%#08x) = %#04x, want %#04x", tc.bits, g, tc.want)
		}
	}
	if g := weights.Float32ToBF16(float32(math.NaN())); g&0x7f80 != 0x7f80 || g&0x7f == 0 {
		t.Errorf("NaN -> %#04x", g)
	}
}

// TestQ8_0 checks the quantizer on a known block and its error bound on
// random data: |x − d·q| ≤ d/2 plus the float16 rounding of d.
func TestQ8_0(t *testing.T) {
	src := make([]float32, 64)
	for i := range 32 {
		src[i] = float32(i-16) / 16 // amax 1: d = 1/127
	}
	dst, err := Encode(backend.WeightQ8_0, src, 2, 32)
	if err != nil {
		t.Fatal(err)
	}
	if len(dst) != 68 {
		t.Fatalf("%d bytes", len(dst))
	}
	if d := weights.F16ToFloat32(uint16(dst[0]) | uint16(dst[1])<<8); d != weights.F16ToFloat32(weights.Float32ToF16(1.0/127)) {
		t.Fatalf("scale %g", d)
	}
	if q := int8(dst[2]); q != -127 {
		t.Fatalf("q[0] = %d, want -127", q)
	}
	if dst[34] != 0 || dst[35] != 0 || dst[36] != 0 {
		t.Fatalf("all-zero block encodes as % x", dst[34:40])
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 32*100)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	q, _ := Encode(backend.WeightQ8_0, x, 100, 32)
	y, err := Decode(backend.WeightQ8_0, q, 100, 32)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 100 {
		var amax float64
		for _, v := range x[b*32 : b*32+32] {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		bound := amax/127/2*1.01 + amax*1e-3
		for i := b * 32; i < b*32+32; i++ {
			if e := math.Abs(float64(x[i] - y[i])); e > bound {
				t.Fatalf("value %d: %g decodes to %g (error %g > %g)", i, x[i], y[i], e, bound)
			}
		}
	}
	if _, err := Encode(backend.WeightQ8_0, make([]float32, 16), 1, 16); err == nil {
		t.Fatal("Q8_0 of 16 columns: no error")
	}
}

func TestEncodeDecode(t *testing.T) {
	x := []float32{1, -2.5, 0.15625, 3e-5, 1024, -0}
	for _, f := range []backend.WeightFormat{backend.WeightF32, backend.WeightBF16, backend.WeightF16} {
		b, err := Encode(f, x, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		y, err := Decode(f, b, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x {
			tol := map[backend.WeightFormat]float64{backend.WeightF32: 0, backend.WeightBF16: 1.0 / 256, backend.WeightF16: 1.0 / 2048}[f]
			if math.Abs(float64(x[i]-y[i])) > tol*math.Abs(float64(x[i]))+1e-7 {
				t.Errorf("%s: %g -> %g", f, x[i], y[i])
			}
		}
	}
	if _, err := Decode(backend.WeightBF16, make([]byte, 5), 1, 3); err == nil {
		t.Error("Decode of 5 bytes as [1,3] bf16: no error")
	}
}

// quantizeQ8_0Ref is the quantizer as first written (max|x| and the
// rounding in float64), the form QuantizeQ8_0 must match byte for byte.
func quantizeQ8_0Ref(dst []byte, src []float32) {
	for b := range len(src) / 32 {
		x, y := src[b*32:b*32+32], dst[b*34:b*34+34]
		var amax float32
		for _, v := range x {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		h := weights.Float32ToF16(d)
		y[0], y[1] = byte(h), byte(h>>8)
		for j, v := range x {
			y[2+j] = byte(int8(math.Round(float64(v * id))))
		}
	}
}

// TestQ8_0MatchesReference: the float32 quantizer gives the reference's
// bytes on random blocks of many scales, on blocks built to put values
// exactly on and next to the rounding ties, and on special values.
func TestQ8_0MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var x []float32
	for range 20000 {
		scale := math.Ldexp(1, r.IntN(60)-40)
		for range 32 {
			x = append(x, float32(r.NormFloat64()*scale))
		}
	}
	for k := range 2000 { // amax 127: q = x exactly; x = n + ½ ± ulps hits the ties
		blk := make([]float32, 32)
		blk[0] = 127
		for j := 1; j < 32; j++ {
			v := float32(r.IntN(254)-127) + 0.5
			blk[j] = math.Nextafter32(v, float32(k%3-1)*1e9)
		}
		x = append(x, blk...)
	}
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-39, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1, -1, 0.5, -0.5}
	for k := range 400 {
		blk := make([]float32, 32)
		for j := range blk {
			blk[j] = special[(k*7+j*j)%len(special)]
			if k%2 == 0 && j > 3 {
				blk[j] = float32(r.NormFloat64())
			}
		}
		x = append(x, blk...)
	}
	got := make([]byte, len(x)/32*34)
	want := make([]byte, len(got))
	QuantizeQ8_0(got, x)
	quantizeQ8_0Ref(want, x)
	for b := 0; b < len(got); b += 34 {
		if string(got[b:b+34]) != string(want[b:b+34]) {
			t.Fatalf("block %d (%v):\n got % x\nwant % x", b/34, x[b/34*32:b/34*32+32], got[b:b+34], want[b:b+34])
		}
	}
}

// TestIntoFunctions: EncodeInto and DecodeInto write the bytes and values
// of Encode and Decode into the given buffers and refuse a wrong size.
func TestIntoFunctions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, 3*64)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for _, f := range []backend.WeightFormat{backend.WeightF32, backend.WeightBF16, backend.WeightF16, backend.WeightQ8_0} {
		want, err := Encode(f, x, 3, 64)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if err := EncodeInto(got, f, x, 3, 64); err != nil || string(got) != string(want) {
			t.Fatalf("%s: EncodeInto differs from Encode (err %v)", f, err)
		}
		if err := EncodeInto(got[1:], f, x, 3, 64); err == nil {
			t.Errorf("%s: EncodeInto into a short buffer: no error", f)
		}
		wantV, err := Decode(f, want, 3, 64)
		if err != nil {
			t.Fatal(err)
		}
		gotV := make([]float32, len(x))
		if err := DecodeInto(gotV, f, want, 3, 64); err != nil {
			t.Fatal(err)
		}
		for i := range gotV {
			if math.Float32bits(gotV[i]) != math.Float32bits(wantV[i]) {
				t.Fatalf("%s: DecodeInto[%d] = %g, Decode %g", f, i, gotV[i], wantV[i])
			}
		}
		if err := DecodeInto(gotV[1:], f, want, 3, 64); err == nil {
			t.Errorf("%s: DecodeInto into a short buffer: no error", f)
		}
	}
}

func BenchmarkQuantizeQ8_0(b *testing.B) {
	x := make([]float32, 4864*896)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.02)
	}
	dst := make([]byte, len(x)/32*34)
	b.SetBytes(int64(4 * len(x)))
	b.Run("float32", func(b *testing.B) {
		for b.Loop() {
			QuantizeQ8_0(dst, x)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			quantizeQ8_0Ref(dst, x)
		}
	})
}
