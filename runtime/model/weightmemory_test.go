package model_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// writeCheckpoint writes cfg's random weights (RandomSource, seed 5) as a
// single-file checkpoint of dtype d and opens it (memory-mapped).
func writeCheckpoint(t *testing.T, cfg model.Config, d weights.DType) *weights.Checkpoint {
	t.Helper()
	src := model.RandomSource(cfg, 5)
	var ts []weights.TensorData
	for _, spec := range model.Plan(cfg) {
		v, shape, err := src.Float32(spec.Name)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, weights.TensorData{Name: spec.Name, DType: d, Shape: shape, Data: weights.FromFloat32(d, v)})
	}
	var buf bytes.Buffer
	if err := weights.Write(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, weights.SingleFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ck, err := weights.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	return ck
}

// TestLoadMemory asserts what loading holds, in numbers that do not
// depend on the machine: the bytes of converted weights outside the Go
// heap (quant.Allocated) and the heap bytes allocated while loading
// (runtime.MemStats.TotalAlloc). Converting at load must not make a
// float32 copy of the weights on the heap (it decodes 1 MiB chunks into
// reused buffers; f32 copies live off the heap too), and weights used in
// place (bf16 as bf16, float32 under auto) must cost nothing.
func TestLoadMemory(t *testing.T) {
	cfg := model.BenchConfig()
	cfg.NumLayers = 2
	var matrixValues, q8Bytes int64
	for _, spec := range model.Plan(cfg) {
		if len(spec.Shape) == 2 {
			matrixValues += spec.NumElements()
			q8Bytes += spec.NumElements() / backend.Q8BlockSize * backend.Q8BlockBytes
		}
	}
	f32Bytes := 4 * matrixValues
	for _, tc := range []struct {
		name      string
		stored    weights.DType
		mode      model.WeightMode
		converted int64 // bytes quant.Allocated must grow by
		inPlace   bool
		format    backend.WeightFormat
	}{
		{"bf16 file, q8_0", weights.BF16, model.WeightsQ8_0, q8Bytes, false, backend.WeightQ8_0},
		{"f32 file, q8_0", weights.F32, model.WeightsQ8_0, q8Bytes, false, backend.WeightQ8_0},
		{"f32 file, bf16", weights.F32, model.WeightsBF16, matrixValues * 2, false, backend.WeightBF16},
		{"bf16 file, f32", weights.BF16, model.WeightsF32, matrixValues * 4, false, backend.WeightF32},
		{"f32 file, f32", weights.F32, model.WeightsF32, matrixValues * 4, false, backend.WeightF32},
		{"bf16 file, auto", weights.BF16, model.WeightsAuto, 0, true, backend.WeightBF16},
		{"f32 file, auto", weights.F32, model.WeightsAuto, 0, true, backend.WeightF32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck := writeCheckpoint(t, cfg, tc.stored)
			runtime.GC()
			var before, after runtime.MemStats
			off0 := quant.Allocated()
			runtime.ReadMemStats(&before)
			m, err := model.LoadWith(cfg, model.CheckpointSource(ck), cpu.New(2), model.LoadOptions{Weights: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			off := quant.Allocated() - off0
			heap := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("converted weights %d bytes off the heap, %d heap bytes allocated while loading (float32 weights: %d)", off, heap, f32Bytes)
			if off != tc.converted {
				t.Errorf("weights held off the heap: %d bytes, want %d", off, tc.converted)
			}
			if limit := f32Bytes / 8; heap > limit {
				t.Errorf("loading allocated %d heap bytes, want at most %d (an eighth of the float32 weights)", heap, limit)
			}
			if m.UsesSourceMemory() != tc.inPlace {
				t.Errorf("UsesSourceMemory = %v, want %v", m.UsesSourceMemory(), tc.inPlace)
			}
			if f := cpu.WeightFormat(m.LinearWeight()); f != tc.format {
				t.Errorf("q weight kept as %s, want %s", f, tc.format)
			}
			rb, _ := tc.format.RowBytes(cfg.HiddenSize)
			if got, want := model.BytesPerWeight(cfg, model.CheckpointSource(ck), tc.mode), float64(rb)/float64(cfg.HiddenSize); got != want {
				t.Errorf("BytesPerWeight = %g, want %g", got, want)
			}
			m.Close()
			if d := quant.Allocated() - off0; d != 0 {
				t.Errorf("after Close %d converted bytes are still held", d)
			}
		})
	}
}

// TestFloat32InPlace: under auto a float32 checkpoint's weights are used
// from the mapping without a copy and give the logits of the copying
// float32 path (model.Load) bit for bit.
func TestFloat32InPlace(t *testing.T) {
	cfg := model.BenchConfig()
	cfg.NumLayers, cfg.VocabSize = 2, 1024
	cfg.MaskTokenID, cfg.BOSTokenID, cfg.EOSTokenID, cfg.PadTokenID = 1023, 1021, 1022, 1022
	cfg.EOSTokenIDs = []int{1022}
	ck := writeCheckpoint(t, cfg, weights.F32)
	ids := make([]int, 40)
	for i := range ids {
		ids[i] = (i * 53) % 1000
	}
	in := []model.Input{{IDs: ids, Want: allPositions(len(ids))}}
	var out [2][][]float32
	for i, mode := range []model.WeightMode{model.WeightsF32, model.WeightsAuto} {
		m, err := model.LoadWith(cfg, model.CheckpointSource(ck), cpu.New(2), model.LoadOptions{Weights: mode})
		if err != nil {
			t.Fatal(err)
		}
		if m.UsesSourceMemory() != (mode == model.WeightsAuto) {
			t.Fatalf("%s: UsesSourceMemory = %v", mode, m.UsesSourceMemory())
		}
		if out[i], err = m.Forward(in); err != nil {
			t.Fatal(err)
		}
		m.Close()
	}
	for j := range out[0][0] {
		if math.Float32bits(out[0][0][j]) != math.Float32bits(out[1][0][j]) {
			t.Fatalf("logit %d: %g in place, %g copied", j, out[1][0][j], out[0][0][j])
		}
	}
}
