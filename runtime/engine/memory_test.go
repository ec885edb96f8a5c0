package engine

import (
	"os"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// TestMemoryShortfall7B: Dream 7B as float32 needs ~38 GB; the check must
// say so (and flag it wherever less is available).
func TestMemoryShortfall7B(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		testenv.Missing(t, "no /proc/meminfo on this system")
	}
	cfg, err := model.LoadConfig(sharedpath.Path(t, "reference", "dream-v0-7b"))
	if err != nil {
		t.Fatal(err)
	}
	need, avail, short := memoryShortfall(cfg, 4)
	if need < 38e9 || need > 39e9 {
		t.Fatalf("need %d bytes, want about 38 GB (7.6e9 params × 4 × 1.25)", need)
	}
	if avail <= 0 {
		t.Fatal("MemAvailable not read")
	}
	if short != (need > avail) {
		t.Fatalf("short = %v with need %d, avail %d", short, need, avail)
	}
	// Kept as bf16 (auto on Dream's bf16 checkpoint) it needs half.
	if half, _, _ := memoryShortfall(cfg, 2); half < 19e9 || half > 19.5e9 {
		t.Fatalf("bf16: need %d bytes, want about 19 GB", half)
	}
	small, _, short := memoryShortfall(model.BenchConfig(), 4)
	if short || small > 200e6 {
		t.Fatalf("30M-parameter config: need %d, short %v", small, short)
	}
}
