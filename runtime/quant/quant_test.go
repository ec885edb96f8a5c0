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
