package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// TestOpenBF16Matmul: on a CPU without AMX, MatmulBF16 opens the
// model with float32 matmuls after a Warn that says why, and the results
// are the float32 path's exactly; with AMX the built-in model runs its
// matmuls on the tiles: the same requests complete, with confidences that
// differ from the float32 sums (the tiles did run) and tokens that mostly
// agree.
func TestOpenBF16Matmul(t *testing.T) {
	var logs bytes.Buffer
	e, err := engine.OpenFS(builtin.FS(), engine.Options{Matmul: engine.MatmulBF16, Cache: denoise.CacheOptions{Enabled: true}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ref := openBuiltin(t)
	if !cpu.AMXAvailable() {
		if !strings.Contains(logs.String(), "--matmul bf16 cannot run here") || !strings.Contains(logs.String(), "matmul=f32") {
			t.Fatalf("no AMX: no Warn, or the wrong matmul logged:\n%s", logs.String())
		}
		for _, r := range batchRequests(ref, 2) {
			want, got := denoiseBoth(t, ref, e, r)
			if !slices.EqualFunc(got.Confidence, want.Confidence, slices.Equal) {
				t.Fatal("no AMX: the results differ from the float32 path's")
			}
		}
		return
	}
	if want := "matmul=bf16-" + cpu.BF16Kernel(); !strings.Contains(logs.String(), want) {
		t.Fatalf("the model-loaded log does not say %s:\n%s", want, logs.String())
	}
	same, slots, moved := 0, 0, false
	for _, r := range batchRequests(ref, 4) {
		want, got := denoiseBoth(t, ref, e, r)
		for i := range want.Canvases {
			for j, id := range r.Canvases[i] {
				if id != ref.Config().MaskTokenID {
					continue
				}
				slots++
				if got.Canvases[i][j] == want.Canvases[i][j] {
					same++
				}
			}
			if !slices.Equal(got.Confidence[i], want.Confidence[i]) {
				moved = true
			}
		}
	}
	t.Logf("bf16 matmuls: %d of %d masked slots as with float32 matmuls", same, slots)
	if !moved {
		t.Error("every confidence is the float32 path's bit for bit: the AMX tiles did not run")
	}
	if same*10 < slots*6 {
		t.Errorf("only %d of %d masked slots agree with the float32 path", same, slots)
	}
}

// denoiseBoth runs r on the reference engine and on e.
func denoiseBoth(t *testing.T, ref, e *engine.Engine, r denoise.Request) (want, got *denoise.Result) {
	t.Helper()
	want, err := ref.Denoise(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = e.Denoise(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return want, got
}

// TestBF16MatmulOtherWeights: q8_0 weights run on the tiles too (turned
// into bf16 strip by strip); float32 weights cannot, and Open says so in
// a Warn and logs matmul=f32.
func TestBF16MatmulOtherWeights(t *testing.T) {
	if !cpu.AMXAvailable() {
		t.Skip("no AMX-BF16 tiles or AVX512-BF16 on this CPU: --matmul bf16 is refused here (TestOpenBF16Matmul)")
	}
	for _, c := range []struct {
		weights model.WeightMode
		log     string
	}{
		{model.WeightsQ8_0, "matmul=bf16-" + cpu.BF16Kernel()},
		{model.WeightsF32, "--matmul bf16 applies to weights in stored formats"},
	} {
		var logs bytes.Buffer
		e, err := engine.OpenFS(builtin.FS(), engine.Options{Matmul: engine.MatmulBF16, Weights: c.weights, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		e.Close()
		if !strings.Contains(logs.String(), c.log) {
			t.Fatalf("--weights %s: the log does not say %q:\n%s", c.weights, c.log, logs.String())
		}
		if c.weights == model.WeightsF32 && !strings.Contains(logs.String(), "matmul=f32") {
			t.Fatalf("--weights f32: matmul=f32 not logged:\n%s", logs.String())
		}
	}
}

// TestOpenMatmulAuto: MatmulAuto runs the tiles where they run
// (MatmulKernel bf16-amx or bf16-avx512-bf16) and the float32 kernels elsewhere and for
// weights the tiles do not take, without a Warn either way; the zero
// value is f32; an unknown value is an error.
func TestOpenMatmulAuto(t *testing.T) {
	for _, c := range []struct {
		matmul  engine.Matmul
		weights model.WeightMode
		want    string
	}{
		{engine.MatmulAuto, model.WeightsAuto, map[bool]string{false: "f32", true: "bf16-" + cpu.BF16Kernel()}[cpu.AMXAvailable()]},
		{engine.MatmulAuto, model.WeightsF32, "f32"},
		{"", model.WeightsAuto, "f32"},
		{engine.MatmulF32, model.WeightsAuto, "f32"},
	} {
		var logs bytes.Buffer
		e, err := engine.OpenFS(builtin.FS(), engine.Options{Matmul: c.matmul, Weights: c.weights, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		got := e.MatmulKernel()
		e.Close()
		if got != c.want || strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "matmul="+c.want) {
			t.Errorf("matmul %q, weights %s: kernel %q, want %q, without a Warn:\n%s", c.matmul, c.weights, got, c.want, logs.String())
		}
	}
	if _, err := engine.OpenFS(builtin.FS(), engine.Options{Matmul: "fast"}); err == nil || !strings.Contains(err.Error(), "fast") {
		t.Errorf("matmul \"fast\": %v, want an error naming it", err)
	}
}
