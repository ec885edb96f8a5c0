package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/loadtest"
)

// TestAPILoad is the load measurement of docs/BENCHMARKS.md "dream-lsp api":
// E simulated editors, each sending N completion requests one after
// another (a closed loop, no think time), against one `dream-lsp api` on
// the built-in model (CPU), once with batching and once with --no-batch.
// Every request must be answered 200. It reports p50/p95 latency,
// throughput, the server's CPU seconds (user+system) per request, which
// stay stable on a shared machine where wall time does not, the load
// average before and after, and the server's peak RSS. Opt-in (it takes
// minutes):
//
//	DREAM_API_LOAD=8x200 go test ./cmd/dream-lsp -run TestAPILoad -v -timeout 60m
//
// DREAM_API_LOAD_MODE=batched (or unbatched) runs one mode only;
// DREAM_API_LOAD_ROUNDS=N runs both modes back to back N times;
// DREAM_API_LOAD_ARGS adds server flags to both (e.g. "--matmul bf16").
func TestAPILoad(t *testing.T) {
	editors, perEditor := loadSpec(t, "DREAM_API_LOAD", "8x200", 1)
	windows := loadtest.Windows(t, editors*perEditor)
	bin := buildBinary(t)
	rounds := 1
	if r := os.Getenv("DREAM_API_LOAD_ROUNDS"); r != "" {
		if n, err := strconv.Atoi(r); err != nil || n < 1 {
			t.Fatalf("DREAM_API_LOAD_ROUNDS=%q: want a positive count", r)
		} else {
			rounds = n
		}
	}
	type mode struct {
		name string
		args []string
	}
	var modes []mode
	for range rounds {
		extra := strings.Fields(os.Getenv("DREAM_API_LOAD_ARGS"))
		modes = append(modes, mode{"batched", extra}, mode{"unbatched", append([]string{"--no-batch"}, extra...)})
	}
	for _, mode := range modes {
		if only := os.Getenv("DREAM_API_LOAD_MODE"); only != "" && only != mode.name {
			continue
		}
		url, cmd, stderr := startAPI(t, bin, nil, mode.args...)
		load0, cpu0 := loadAvg(), cpuSecondsOf(cmd.Process.Pid)
		var mu sync.Mutex
		var lat []time.Duration
		failed := 0
		start := time.Now()
		var wg sync.WaitGroup
		for e := range editors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perEditor {
					w := windows[e*perEditor+i]
					body := loadtest.Request(w)
					t0 := time.Now()
					resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
					d := time.Since(t0)
					ok := err == nil && resp.StatusCode == 200
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					mu.Lock()
					if ok {
						lat = append(lat, d)
					} else {
						failed++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		rss := peakRSSOf(cmd.Process.Pid)
		cpu := cpuSecondsOf(cmd.Process.Pid) - cpu0
		load1 := loadAvg()
		metrics := metrics(t, url, "")
		cmd.Process.Kill()
		cmd.Wait()
		if failed > 0 {
			t.Errorf("%s: %d of %d requests failed\n%s", mode.name, failed, editors*perEditor, stderr())
		}
		slices.Sort(lat)
		pct := func(p float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(p*float64(len(lat))))]
		}
		t.Logf("%s: %d editors x %d requests: %d answered in %.1f s = %.2f req/s; latency p50 %v p95 %v max %v; server CPU %.1f s = %.0f cpu-ms/request (%.2f cores busy); load average %s -> %s; server peak RSS %.0f MiB; batches: %s",
			mode.name, editors, perEditor, len(lat), wall.Seconds(), float64(len(lat))/wall.Seconds(), pct(0.50).Round(time.Millisecond),
			pct(0.95).Round(time.Millisecond), pct(1).Round(time.Millisecond), cpu, 1000*cpu/float64(max(len(lat), 1)), cpu/wall.Seconds(),
			load0, load1, rss, batchSummary(metrics))
	}
	t.Logf("machine: %d CPUs (GOMAXPROCS %d), %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly))
}

// loadSpec reads an opt-in EDITORSxREQUESTS measurement spec from env
// (example shows one): unset skips the test, malformed or fewer than
// minRequests per editor fails it.
func loadSpec(t *testing.T, env, example string, minRequests int) (editors, perEditor int) {
	t.Helper()
	spec := os.Getenv(env)
	if spec == "" {
		t.Skipf("opt-in measurement: set %s=EDITORSxREQUESTS (e.g. %s)", env, example)
	}
	if _, err := fmt.Sscanf(spec, "%dx%d", &editors, &perEditor); err != nil || editors < 1 || perEditor < minRequests {
		want := "EDITORSxREQUESTS"
		if minRequests > 1 {
			want += fmt.Sprintf(" (REQUESTS >= %d)", minRequests)
		}
		t.Fatalf("%s=%q: want %s", env, spec, want)
	}
	return editors, perEditor
}

// peakRSSOf reads a process's peak resident set (VmHWM) in MiB.
func peakRSSOf(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSecondsOf reads a process's user+system CPU time in seconds from
// /proc/PID/stat (fields 14 and 15, in USER_HZ = 100 ticks a second).
func cpuSecondsOf(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// loadAvg is the 1-minute load average from /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// batchSummary reads the mean requests and canvases per denoising step
// (unbatched: per call) from /metrics.
func batchSummary(m string) string {
	val := func(name string) float64 {
		for _, line := range strings.Split(m, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == name {
				v, _ := strconv.ParseFloat(f[1], 64)
				return v
			}
		}
		return 0
	}
	calls := val("dream_api_batch_requests_count")
	if calls == 0 {
		return "none"
	}
	return fmt.Sprintf("%.0f forward steps (unbatched: calls), %.2f requests and %.1f canvases per step", calls, val("dream_api_batch_requests_sum")/calls, val("dream_api_batch_size_sum")/calls)
}
