package gguf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// kquantBuilder is a small valid file with a Q4_K [2, 256] and a Q6_K
// [1, 512] matrix under Dream's names.
func kquantBuilder() *builder {
	b := &builder{}
	b.kvStr("general.architecture", "dream")
	q4 := make([]byte, 2*144)
	q4[1], q4[144+1] = 0x3c, 0x3c // d = 1
	for i := 16; i < 144; i++ {
		q4[i], q4[144+i] = byte(i), byte(3*i)
	}
	q4[4], q4[144+4] = 1, 2 // sub-block 0's scale
	q6 := make([]byte, 2*210)
	q6[209], q6[210+209] = 0x3c, 0x3c
	for i := range 208 {
		q6[i], q6[210+i] = byte(5*i), byte(7*i)
	}
	b.tensor("token_embd.weight", GGMLQ4_K, q4, 256, 2)
	b.tensor("output.weight", GGMLQ6_K, q6, 512, 1)
	return b
}

// TestKQuantTensors: k-quant tensors parse with ggml's block sizes and the
// source hands them out as q4_K and q6_K, raw and decoded; rows that are
// not whole super-blocks and truncated data are corrupt.
func TestKQuantTensors(t *testing.T) {
	f, err := Parse("k.gguf", kquantBuilder().bytes())
	if err != nil {
		t.Fatal(err)
	}
	src := f.Source()
	for _, c := range []struct {
		hf    string
		f     backend.WeightFormat
		shape []int
	}{{model.TensorEmbed, backend.WeightQ4_K, []int{2, 256}}, {model.TensorLMHead, backend.WeightQ6_K, []int{1, 512}}} {
		raw, fm, shape, err := src.Raw(c.hf)
		if err != nil || fm != c.f || fmt.Sprint(shape) != fmt.Sprint(c.shape) {
			t.Fatalf("Raw(%s) = %s %v %v, want %s %v", c.hf, fm, shape, err, c.f, c.shape)
		}
		rb, _ := c.f.RowBytes(c.shape[1])
		if len(raw) != c.shape[0]*rb {
			t.Fatalf("Raw(%s): %d bytes, want %d", c.hf, len(raw), c.shape[0]*rb)
		}
		v, _, err := src.Float32(c.hf)
		if err != nil || len(v) != c.shape[0]*c.shape[1] {
			t.Fatalf("Float32(%s): %d values, %v", c.hf, len(v), err)
		}
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"half a super-block", (&builder{}).tensor("w", GGMLQ4_K, make([]byte, 144), 128, 1).bytes(), "not a multiple of Q4_K's block of 256"},
		{"Q6_K rows of 300", (&builder{}).tensor("w", GGMLQ6_K, make([]byte, 420), 300, 1).bytes(), "not a multiple of Q6_K's block of 256"},
		{"truncated blocks", trimmed(kquantBuilder().bytes(), 10), "past the end of the data section"},
	} {
		_, err := Parse("k.gguf", c.data)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a corrupt-file error with %q", c.name, err, c.want)
		}
	}
}

func trimmed(b []byte, n int) []byte { return b[:len(b)-n] }

// TestWriteKQuantFuzzSeed keeps testdata/fuzz/FuzzGGUFHeader/kquant (a
// file with k-quant tensors, a seed for the header fuzz) in step with
// kquantBuilder; GGUF_WRITE_SEED=1 rewrites it.
func TestWriteKQuantFuzzSeed(t *testing.T) {
	path := filepath.Join("testdata", "fuzz", "FuzzGGUFHeader", "kquant")
	want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(kquantBuilder().bytes())) + ")\n"
	if os.Getenv("GGUF_WRITE_SEED") != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s is stale or missing (%v): GGUF_WRITE_SEED=1 go test ./runtime/gguf -run TestWriteKQuantFuzzSeed", path, err)
	}
}
