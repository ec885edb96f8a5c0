package main

import (
	"flag"
	"fmt"
	"syscall"

	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// weightsUsage documents --weights for serve, infill and bench.
const weightsUsage = "weight format in memory: auto (as stored: bf16 stays bf16, mapped; GGUF Q8_0, Q4_K, Q6_K and Q5_0 stay as they are), f32, bf16 or q8_0 (converted at load)"

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
