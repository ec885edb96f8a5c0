package cpu

import "math"

// expf is a float32 exp for the softmax and SiLU inner loops: Cody–Waite
// range reduction x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 Taylor
// polynomial for e^r, and 2^n assembled in the exponent bits. Relative
// error ≤ 5e-7 (a few ulp) over the whole float32 range (see TestExpf); it returns 0
// below −87.3 (where e^x leaves the normal range) and +Inf above 88.7.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < -87.3:
		return 0
	case x > 88.7:
		return float32(math.Inf(1))
	}
	// The explicit float32 conversions round every product on its own, so
	// no GOAMD64 level fuses a multiply and an add: siluMul's vector
	// operations give the same bits.
	v := float32(x*1.44269504) + 0.5
	i := int32(v) // truncates toward zero; make it a floor
	if float32(i) > v {
		i--
	}
	n := float32(i)
	r := float32(x-float32(n*0.693145751953125)) - float32(n*1.42860677e-06)
	// 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r/720))))), Horner.
	p := float32(r * (1.0 / 720))
	p = float32(r * (1.0/120 + p))
	p = float32(r * (1.0/24 + p))
	p = float32(r * (1.0/6 + p))
	p = float32(r * (1.0/2 + p))
	p = float32(r * (1 + p))
	p = 1 + p
	if i > 127 { // x in (88.38, 88.7]: 2^128 is not a float32
		return p * 2 * math.Float32frombits(uint32(127+127)<<23)
	}
	return p * math.Float32frombits(uint32(i+127)<<23)
}
