package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sample returns a few small tensors of every supported dtype.
func sample() []TensorData {
	return []TensorData{
		{Name: "a.bf16", DType: BF16, Shape: []int{2, 3}, Data: FromFloat32(BF16, []float32{1, -2, 0.5, 3.25, -0.125, 100})},
		{Name: "b.f16", DType: F16, Shape: []int{4}, Data: FromFloat32(F16, []float32{1, -2, 0.5, 65504})},
		{Name: "c.f32", DType: F32, Shape: []int{2, 2}, Data: FromFloat32(F32, []float32{1.5, -2.25, 3e-8, 7})},
		{Name: "d.scalar", DType: F32, Shape: []int{}, Data: FromFloat32(F32, []float32{42})},
	}
}

// encode writes tensors with Write.
func encode(t testing.TB, ts []TensorData, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawFile builds a safetensors file from an explicit header (any JSON
// value) and data section, without validation, for corruption cases.
func rawFile(t testing.TB, header any, data []byte) []byte {
	t.Helper()
	js, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	return rawFileJSON(js, data)
}

func rawFileJSON(js, data []byte) []byte {
	out := make([]byte, 8, 8+len(js)+len(data))
	binary.LittleEndian.PutUint64(out, uint64(len(js)))
	out = append(out, js...)
	return append(out, data...)
}

// info is a header entry.
func info(dtype string, shape []int, b, e int) map[string]any {
	return map[string]any{"dtype": dtype, "shape": shape, "data_offsets": []int{b, e}}
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeIndex(t testing.TB, dir string, weightMap map[string]string, total int64) {
	t.Helper()
	js, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, IndexFile, js)
}

// wantCorrupt checks that err matches ErrCorrupt and that its message
// mentions every string in names (file, tensor).
func wantCorrupt(t testing.TB, err error, names ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a corruption error naming %q", names)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("errors.Is(%v, ErrCorrupt) = false", err)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not name %q", err, n)
		}
	}
}
