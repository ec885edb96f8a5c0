package main

import (
	"flag"
	"fmt"
	"syscall"

	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// weightsUsage documents --weights for serve, infill and bench.
const weightsUsage = "weight format in memory: auto (as stored: bf16 stays bf16, mapped; GGUF Q8_0, Q4_K and the other block formats stay as they are), f32, bf16 or q8_0 (converted at load)"

// weightsFlag registers --weights on fs.
func weightsFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "weights", string(model.WeightsAuto), weightsUsage)
}

// parseWeights validates a --weights value as a usage error.
func parseWeights(s string) (model.WeightMode, error) {
	m, err := model.ParseWeightMode(s)
	if err != nil {
		return "", fmt.Errorf("%w: --weights: %v", errUsage, err)
	}
	return m, nil
}

// matmulUsage documents --matmul for serve, api, infill, eval and bench.
const matmulUsage = "how weights in stored formats (bf16, f16, q8_0 and GGUF's block formats) multiply on the CPU: auto (bf16 where the CPU has AMX tiles or AVX512-BF16, else f32), f32 (float32 activations: the reference sums, the same on every CPU) or bf16 (activations and weights rounded to bf16, products on the CPU's AMX tiles or with AVX512-BF16's VDPBF16PS: about twice as fast or more; needs an Intel Xeon with AMX or an AMD Zen 4 or later)"

// matmulFlag registers --matmul on fs with its default: auto where a
// command serves or completes, f32 for bench, whose recorded commands
// measure the reference kernels unless they ask for the tiles.
func matmulFlag(fs *flag.FlagSet, p *string, def engine.Matmul) {
	fs.StringVar(p, "matmul", string(def), matmulUsage)
}

// parseMatmul validates a --matmul value as a usage error.
func parseMatmul(s string) (engine.Matmul, error) {
	switch m := engine.Matmul(s); m {
	case engine.MatmulF32, engine.MatmulBF16, engine.MatmulAuto:
		return m, nil
	}
	return "", fmt.Errorf("%w: --matmul: unknown value %q (want auto, f32 or bf16)", errUsage, s)
}

// serveMatmul is serve's --matmul, used by every engine the server opens.
var serveMatmul engine.Matmul

// serveWeights is serve's --weights, used by every engine the server opens.
var serveWeights model.WeightMode

// peakRSSMiB returns the process's peak resident set size in MiB
// (getrusage ru_maxrss, KiB on Linux).
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}
