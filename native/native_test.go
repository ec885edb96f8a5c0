package native

import (
	"encoding/binary"
	"io/fs"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEmbeddedSources(t *testing.T) {
	units, err := Units()
	if err != nil {
		t.Fatal(err)
	}
	if len(units) == 0 {
		t.Fatal("no .cu units embedded")
	}
	for _, u := range units {
		b, err := fs.ReadFile(FS(), u)
		if err != nil {
			t.Fatal(err)
		}
		if len(strings.TrimSpace(string(b))) == 0 {
			t.Errorf("%s is empty", u)
		}
		if !strings.Contains(string(b), `#include "common.cuh"`) {
			t.Errorf("%s does not include common.cuh", u)
		}
		// No toolkit headers: NVRTC must compile the units on machines
		// without a CUDA toolkit.
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#include <") {
				t.Errorf("%s includes a system header: %s", u, line)
			}
		}
	}
	hs, err := Headers()
	if err != nil {
		t.Fatal(err)
	}
	if len(hs["common.cuh"]) == 0 {
		t.Error("common.cuh missing or empty")
	}
}

// The kernels the CUDA backend launches, with their parameter kinds.
func TestKernelSignatures(t *testing.T) {
	ks, err := Kernels()
	if err != nil {
		t.Fatal(err)
	}
	P, I, F, L := Ptr, I32, F32, I64
	want := map[string][]Kind{
		"embed_gather_f32":      {P, P, P, I, I, I},
		"embed_gather_bf16":     {P, P, P, I, I, I},
		"gather_rows_f32":       {P, P, P, I, I, I, I},
		"gather_rows_bf16":      {P, P, P, I, I, I, I},
		"cast_f32_bf16":         {P, P, L},
		"cast_bf16_f32":         {P, P, L},
		"add_rmsnorm_f32":       {P, P, P, P, I, I, F},
		"add_rmsnorm_bf16":      {P, P, P, P, I, I, F},
		"bias_rope_kv_f32":      {P, P, P, P, P, P, P, I, I, I, I, F, I},
		"bias_rope_kv_bf16":     {P, P, P, P, P, P, P, I, I, I, I, F, I},
		"attn_softmax_f32":      {P, P, P, P, I, I, I, I, F},
		"attn_softmax_bf16":     {P, P, P, P, I, I, I, I, F},
		"attn_out_reorder_f32":  {P, P, I, I, I, I},
		"attn_out_reorder_bf16": {P, P, I, I, I, I},
		"rope_inplace_f32":      {P, P, I, I, I, F},
		"rope_inplace_bf16":     {P, P, I, I, I, F},
		"attention_f32":         {P, P, P, P, P, P, P, P, I, I, I, I, I, I, F, I},
		"attention_bf16":        {P, P, P, P, P, P, P, P, I, I, I, I, I, I, F, I},
		"attn_combine_f32":      {P, P, P, I, I, I, I},
		"attn_combine_bf16":     {P, P, P, I, I, I, I},
		"silu_mul_f32":          {P, P, P, I, I, I},
		"silu_mul_bf16":         {P, P, P, I, I, I},
		"add_f32":               {P, P, P, L},
		"add_bf16":              {P, P, P, L},
		"sample_rows":           {P, I, I, F, P, P, P},
	}
	for name, kinds := range want {
		k, ok := ks[name]
		if !ok {
			t.Errorf("kernel %s not found", name)
			continue
		}
		got := make([]Kind, len(k.Params))
		for i, p := range k.Params {
			got[i] = p.Kind
		}
		if diff := cmp.Diff(kinds, got); diff != "" {
			t.Errorf("%s parameter kinds (-want +got):\n%s", name, diff)
		}
		if k.MaxThreads%32 != 0 {
			t.Errorf("%s: block size %d is not a multiple of the warp size", name, k.MaxThreads)
		}
	}
}

func TestParse(t *testing.T) {
	src := `
#include "common.cuh"
// extern "C" __global__ void __launch_bounds__(64) commented_out(int x)
/* extern "C" __global__ void __launch_bounds__(64) also_commented(int x) */
extern "C" __global__ void __launch_bounds__(256, 2) k1(const float* __restrict__ x,
        bf16 *y, int n, unsigned int m, long long big, unsigned long long seed, float eps) {}
extern "C" __global__ void __launch_bounds__(32) k2() {}
`
	ks, err := Parse("t.cu", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Kernel{
		{Name: "k1", Unit: "t.cu", MaxThreads: 256, Params: []Param{
			{"x", "float*", Ptr}, {"y", "bf16*", Ptr}, {"n", "int", I32}, {"m", "unsigned int", U32},
			{"big", "long long", I64}, {"seed", "unsigned long long", U64}, {"eps", "float", F32}}},
		{Name: "k2", Unit: "t.cu", MaxThreads: 32},
	}
	if diff := cmp.Diff(want, ks); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	for name, src := range map[string]string{
		"no launch bounds": `extern "C" __global__ void k(int n) {}`,
		"bad type":         `extern "C" __global__ void __launch_bounds__(64) k(double d) {}`,
		"no name":          `extern "C" __global__ void __launch_bounds__(64) k(int) {}`,
		"too many threads": `extern "C" __global__ void __launch_bounds__(2048) k(int n) {}`,
	} {
		if _, err := Parse("t.cu", []byte(src)); err == nil {
			t.Errorf("%s: Parse accepted %q", name, src)
		}
	}
}

type fakePtr uint64

func (p fakePtr) DevicePtr() uint64 { return uint64(p) }

func TestPackLayout(t *testing.T) {
	k := Kernel{Name: "k", Params: []Param{
		{"a", "float*", Ptr}, {"n", "int", I32}, {"eps", "float", F32}, {"big", "long long", I64},
		{"b", "int*", Ptr}, {"m", "int", I32}}}
	if got := k.ArgsSize(); got != 36 {
		t.Fatalf("ArgsSize = %d, want 36 (8+4+4+8+8+4, no padding after the last)", got)
	}
	buf := make([]byte, 64)
	for i := range buf {
		buf[i] = 0xee
	}
	n, err := k.Pack(buf, fakePtr(0x1122334455667788), -3, float32(1.5), int64(-1), uint64(0xabc), 7)
	if err != nil {
		t.Fatal(err)
	}
	if n != 36 {
		t.Fatalf("Pack returned %d bytes, want 36", n)
	}
	le := binary.LittleEndian
	checks := []struct {
		off  int
		got  uint64
		want uint64
	}{
		{0, le.Uint64(buf[0:]), 0x1122334455667788},
		{8, uint64(le.Uint32(buf[8:])), uint64(uint32(0xfffffffd))},
		{12, uint64(le.Uint32(buf[12:])), uint64(math.Float32bits(1.5))},
		{16, le.Uint64(buf[16:]), math.MaxUint64},
		{24, le.Uint64(buf[24:]), 0xabc},
		{32, uint64(le.Uint32(buf[32:])), 7},
		{36, uint64(le.Uint32(buf[36:])), 0xeeeeeeee}, // nothing written past the block
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("offset %d = %#x, want %#x", c.off, c.got, c.want)
		}
	}
	if buf[40] != 0xee {
		t.Error("Pack wrote past the argument block")
	}
}

func TestPackErrors(t *testing.T) {
	k := Kernel{Name: "k", Params: []Param{{"a", "float*", Ptr}, {"n", "int", I32}, {"x", "float", F32}}}
	buf := make([]byte, 64)
	for name, args := range map[string][]any{
		"too few":          {uint64(1), 2},
		"too many":         {uint64(1), 2, float32(1), 4},
		"float for int":    {uint64(1), 2.5, float32(1)},
		"int for float":    {uint64(1), 2, 3},
		"int32 overflow":   {uint64(1), math.MaxInt32 + 1, float32(1)},
		"non-nil int ptr":  {5, 2, float32(1)},
		"string for ptr":   {"p", 2, float32(1)},
		"negative for ptr": {-1, 2, float32(1)},
	} {
		if _, err := k.Pack(buf, args...); err == nil {
			t.Errorf("%s: Pack accepted %v", name, args)
		}
	}
	if _, err := k.Pack(make([]byte, 8), uint64(1), 2, float32(1)); err == nil {
		t.Error("Pack accepted a buffer smaller than the block")
	}
	if _, err := k.Pack(buf, 0, int32(-5), 1.25); err != nil {
		t.Errorf("nil pointer, int32 and float64: %v", err)
	}
}

// BenchmarkPack measures packing the 16 parameters of attention_bf16 (the
// widest launch) into a launch block: host work on every launch.
func BenchmarkPack(b *testing.B) {
	ks, err := Kernels()
	if err != nil {
		b.Fatal(err)
	}
	k := ks["attention_bf16"]
	buf := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Pack(buf, fakePtr(1), fakePtr(2), fakePtr(3), 0, 0, fakePtr(4), fakePtr(5), fakePtr(6),
			64, 1024, 28, 4, 128, 4, float32(0.127), 8); err != nil {
			b.Fatal(err)
		}
	}
}
