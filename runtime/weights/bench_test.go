package weights

import (
	"fmt"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
)

// benchConvert measures Float32 on one tensor of n elements of dtype d.
func benchConvert(b *testing.B, d DType, n int) {
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i%251) / 64
	}
	dir := b.TempDir()
	writeFile(b, dir, SingleFile, encode(b, []TensorData{{Name: "w", DType: d, Shape: []int{n}, Data: FromFloat32(d, vals)}}, nil))
	c, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	dst := make([]float32, n)
	b.SetBytes(int64(n * d.Size()))
	for b.Loop() {
		if err := c.Float32Into("w", dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFloat32(b *testing.B) {
	for _, d := range []DType{BF16, F16, F32} {
		b.Run(fmt.Sprintf("%s/16M", d), func(b *testing.B) { benchConvert(b, d, 16<<20) })
		b.Run(fmt.Sprintf("%s/64K", d), func(b *testing.B) { benchConvert(b, d, 64<<10) })
	}
}

// BenchmarkOpen opens and validates the 9.7 MB tiny-qwen-vocab checkpoint.
func BenchmarkOpen(b *testing.B) {
	dir := sharedpath.Path(b, "golden", "models", "tiny-qwen-vocab")
	for b.Loop() {
		c, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkParseHeader7B parses a header shaped like one 7B shard (112
// tensors) with an empty-but-consistent data section.
func BenchmarkParseHeader7B(b *testing.B) {
	var ts []TensorData
	for i := range 112 {
		ts = append(ts, TensorData{Name: fmt.Sprintf("model.layers.%d.mlp.gate_proj.weight", i), DType: BF16, Shape: []int{0, 3584}, Data: nil})
	}
	data := encode(b, ts, map[string]string{"format": "pt"})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := ParseHeader("shard", data); err != nil {
			b.Fatal(err)
		}
	}
}
