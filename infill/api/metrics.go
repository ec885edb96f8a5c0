package api

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// metrics are the server's Prometheus metrics, written by hand in the text
// exposition format (version 0.0.4) to keep the binary free of a client
// library.
type metrics struct {
	queueDepth   atomic.Int64 // requests admitted and not yet answered
	batchWaiting atomic.Int64 // denoise requests waiting for room in the batch

	mu        sync.Mutex
	requests  map[[2]string]uint64 // {endpoint, code} -> count
	latency   *histogram           // seconds, whole request
	denoise   *histogram           // seconds, one denoise request in the runtime
	step      *histogram           // seconds, one batched step (forward pass and sampling)
	batchReqs *histogram           // requests per forward pass (unbatched: per call)
	batchRows *histogram           // canvases per forward pass (unbatched: per call)
	tokens    uint64               // masked slots filled
	failures  uint64               // runtime calls that failed
	tps       float64              // slots per second of the last call
	rejected  uint64               // 503 answers because the queue was full
}

func newMetrics() *metrics {
	lat := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	sizes := []float64{1, 2, 4, 8, 16, 32, 64}
	return &metrics{
		requests:  map[[2]string]uint64{},
		latency:   newHistogram(lat),
		denoise:   newHistogram(lat),
		step:      newHistogram([]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}),
		batchReqs: newHistogram(sizes),
		batchRows: newHistogram(sizes),
	}
}

func (m *metrics) observeRequest(endpoint string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{endpoint, strconv.Itoa(code)}]++
	if code < 300 {
		m.latency.observe(d.Seconds())
	}
}

// observeCall counts one unbatched runtime call of rows canvases with
// slots masked slots.
func (m *metrics) observeCall(rows, slots int, d time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.failures++
		return
	}
	m.denoise.observe(d.Seconds())
	m.batchReqs.observe(1)
	m.batchRows.observe(float64(rows))
	m.tokens += uint64(slots)
	if s := d.Seconds(); s > 0 {
		m.tps = float64(slots) / s
	}
}

// observeStep counts one step of the continuous batch and the requests
// that left it (engine.BatchOptions.Observe).
func (m *metrics) observeStep(st engine.BatchStep) {
	m.batchWaiting.Store(int64(st.Waiting))
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range st.Finished {
		if f.Err != nil {
			m.failures++
			continue
		}
		m.denoise.observe(f.Dur.Seconds())
		m.tokens += uint64(f.Slots)
	}
	if st.Err != nil || st.Jobs == 0 {
		return
	}
	m.step.observe(st.Dur.Seconds())
	m.batchReqs.observe(float64(st.Jobs))
	m.batchRows.observe(float64(st.Canvases))
	if s := st.Dur.Seconds(); s > 0 {
		m.tps = float64(st.Commits) / s
	}
}

func (m *metrics) reject() {
	m.mu.Lock()
	m.rejected++
	m.mu.Unlock()
}

// write writes every metric in the text exposition format.
func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, num(v))
	}
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge("dream_api_queue_depth", "Requests admitted and not yet answered (waiting or running).", float64(m.queueDepth.Load()))
	gauge("dream_api_batch_waiting", "Denoise requests waiting for room in the batch (--batch-rows).", float64(m.batchWaiting.Load()))
	gauge("dream_api_tokens_per_second", "Masked slots filled per second by the last denoising step (unbatched: the last call).", m.tps)
	counter("dream_api_generated_tokens_total", "Masked slots filled (middle tokens, end-of-text slots included).", m.tokens)
	counter("dream_api_denoise_failures_total", "Denoise requests that failed or were cancelled.", m.failures)
	counter("dream_api_rejected_total", "Requests answered 503 because the queue was full.", m.rejected)
	fmt.Fprintf(w, "# HELP dream_api_requests_total Requests by endpoint and status code.\n# TYPE dream_api_requests_total counter\n")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "dream_api_requests_total{endpoint=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	m.latency.write(w, "dream_api_request_duration_seconds", "Time to answer a successful request.")
	m.denoise.write(w, "dream_api_denoise_duration_seconds", "Time of one denoise request in the runtime (waiting for room included).")
	m.step.write(w, "dream_api_step_duration_seconds", "Time of one batched denoising step: one forward pass over the batch and sampling.")
	m.batchReqs.write(w, "dream_api_batch_requests", "Requests in one forward pass (unbatched: one per call).")
	m.batchRows.write(w, "dream_api_batch_size", "Canvases (rows) in one forward pass (unbatched: in one call).")
}

// histogram is a cumulative Prometheus histogram with fixed buckets.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v: le is inclusive
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(w io.Writer, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", name, num(b), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, cum, name, num(h.sum), name, h.n)
}

func num(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
