// Package loadtest holds what the load tests and benchmarks of the api
// server (cmd/dream-lsp, infill/api), of batched denoising and of infill's
// latency share: the editor windows they send and the CPU clock they
// report, so their numbers compare.
package loadtest

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Windows cuts n prefix/suffix windows at random line starts of the Go
// standard library's strings and bufio sources (real code, a fixed seed):
// up to 600 bytes before the cursor and 200 after, as an editor's engine
// would send.
func Windows(tb testing.TB, n int) [][2]string {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "strings", "*.go"))
	more, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "bufio", "*.go"))
	files = append(files, more...)
	if len(files) == 0 {
		tb.Fatal("no Go sources under GOROOT for the load's windows")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var out [][2]string
	for len(out) < n {
		b, err := os.ReadFile(files[rng.IntN(len(files))])
		if err != nil || len(b) < 1000 {
			continue
		}
		text := string(b)
		off := rng.IntN(len(text))
		off = strings.LastIndexByte(text[:off], '\n') + 1
		out = append(out, [2]string{text[max(0, off-600):off], text[off:min(len(text), off+200)]})
	}
	return out
}

// Request is the OpenAI completion body an editor sends for window w:
// the three lengths the language server asks for, at most 12 tokens, BOS
// at the start of a file.
func Request(w [2]string) string {
	body, _ := json.Marshal(map[string]any{"prompt": w[0], "suffix": w[1], "max_tokens": 12,
		"dream": map[string]any{"lengths": []int{4, 8, 12}, "bos": w[0] == ""}})
	return string(body)
}

// CPUTime is the process's user+system CPU time: on a shared machine it
// measures the work, where wall time measures the neighbours too.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
