package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/loadtest"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// BenchmarkServerLoad is the in-process twin of cmd/dream-lsp's TestAPILoad,
// for profiling: 8 simulated editors, each sending 5 completion requests
// one after another (closed loop) per iteration to a Server on the
// built-in model (all cores, or DREAM_BENCH_THREADS; dual K/V cache, as
// `dream-lsp api` runs it),
// with windows cut from Go's strings and bufio sources as the load test
// cuts them. Reported: requests per second, CPU milliseconds per request
// (process user+system), cores kept busy (CPU over wall), p50 and p95
// latency.
//
//	go test ./infill/api -run '^$' -bench ServerLoad -benchtime 4x -cpuprofile /tmp/load.prof
func BenchmarkServerLoad(b *testing.B) {
	const editors, per = 8, 5
	for _, mode := range []string{"batched", "unbatched"} {
		b.Run(mode, func(b *testing.B) {
			threads := 0
			if v := os.Getenv("DREAM_BENCH_THREADS"); v != "" {
				threads, _ = strconv.Atoi(v)
			}
			eng, err := engine.OpenFS(builtin.FS(), engine.Options{Threads: threads, Cache: denoise.CacheOptions{Enabled: true}})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			opts := Options{Engine: eng, Model: "builtin"}
			opts.Batch.Off = mode == "unbatched"
			s, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			hs := httptest.NewServer(s.Handler())
			defer func() { hs.Close(); s.Shutdown() }()
			windows := loadtest.Windows(b, editors*per)
			var lat []time.Duration
			var cpu, wall time.Duration
			n := 0
			for b.Loop() {
				t0, c0 := time.Now(), loadtest.CPUTime()
				var mu sync.Mutex
				var wg sync.WaitGroup
				for e := range editors {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range per {
							w := windows[e*per+i]
							body := loadtest.Request(w)
							r0 := time.Now()
							resp, err := http.Post(hs.URL+PathOpenAI, "application/json", strings.NewReader(body))
							if err != nil {
								b.Error(err)
								return
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != 200 {
								b.Errorf("status %d", resp.StatusCode)
							}
							mu.Lock()
							lat = append(lat, time.Since(r0))
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				wall += time.Since(t0)
				cpu += loadtest.CPUTime() - c0
				n += editors * per
			}
			slices.Sort(lat)
			b.ReportMetric(float64(n)/wall.Seconds(), "req/s")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(n), "cpu-ms/request")
			b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*95/100].Milliseconds()), "p95-ms")
		})
	}
}
