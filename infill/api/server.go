// Package api serves the in-process infill runtime over HTTP in the four
// request shapes editors and plugins already speak (OpenAI /v1/completions,
// Mistral /v1/fim/completions, llama.cpp /infill, Ollama /api/generate),
// plus /v1/models, /health and Prometheus /metrics, so that one GPU machine
// serves a team and more scale out behind an ordinary load balancer.
//
// Concurrent requests to the in-process model share one continuous
// denoising batch (batch.go, engine.Batcher): each step is one forward
// pass over every request in flight, new requests join at the next step
// boundary and each leaves when done, with exactly the tokens it would
// get alone. A bounded queue answers 503 with Retry-After when full; an optional bearer
// token guards every endpoint but /health; bodies are size-limited and bad
// ones get a 4xx JSON error. Shutdown drains the requests in flight.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/context/lang"
	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// Options configure a Server.
type Options struct {
	// Engine is the in-process model; its requests are batched (Batch).
	Engine *engine.Engine
	// Runtime, instead of Engine, is any other runtime (tests' scripted
	// ones): its calls go to it as they come, unbatched.
	Runtime infill.Runtime
	Model   string         // the name /v1/models and responses report
	Infill  infill.Options // engine defaults (steps, algorithm, max tokens)
	Batch   BatchOptions
	// APIKey, when set, is the bearer token every endpoint but /health
	// requires. It is never logged.
	APIKey string
	// MaxBody caps a request body in bytes (0: DefaultMaxBody).
	MaxBody int64
	// QueueSize caps the requests admitted at once, running or waiting
	// (0: DefaultQueueSize); more get 503 with Retry-After.
	QueueSize int
	// Timeout bounds one request's model time (0: DefaultTimeout).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Defaults for Options.
const (
	DefaultMaxBody   = 1 << 20
	DefaultQueueSize = 64
	DefaultTimeout   = 60 * time.Second
)

// Server is the HTTP API. Make one with New; serve Handler(); call
// Shutdown (after http.Server.Shutdown) to stop the batcher.
type Server struct {
	opts     Options
	rt       infill.Runtime
	eng      *infill.Engine
	batch    *engine.Batcher // nil when unbatched
	metrics  *metrics
	log      *slog.Logger
	keyHash  [32]byte
	draining atomic.Bool
	mux      *http.ServeMux
	maxTok   int // default middle length
	room     int // longest middle the model's positions allow (0: no limit)
}

// New returns a server over a runtime.
func New(opts Options) (*Server, error) {
	if (opts.Runtime == nil) == (opts.Engine == nil) {
		return nil, errors.New("api: need exactly one of Engine and Runtime")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Infill.Logger == nil {
		opts.Infill.Logger = opts.Logger
	}
	m := newMetrics()
	s := &Server{opts: opts, metrics: m, log: opts.Logger, keyHash: sha256.Sum256([]byte(opts.APIKey))}
	switch {
	case opts.Engine != nil && !opts.Batch.Off:
		b, rt, err := newBatched(opts.Engine, opts.Batch, m)
		if err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		s.batch, s.rt = b, rt
		s.eng = infill.New(rt, opts.Infill)
	default:
		rt := opts.Runtime
		if rt == nil {
			var err error
			if rt, err = infill.FromEngine(opts.Engine); err != nil {
				return nil, fmt.Errorf("api: %w", err)
			}
		}
		s.rt = rt
		s.eng = infill.New(wrapExpand(&unbatched{Runtime: rt, metrics: m}, rt), opts.Infill)
	}
	s.maxTok = opts.Infill.MaxTokens
	if s.maxTok <= 0 {
		s.maxTok = infill.DefaultMaxTokens
	}
	if mp := s.rt.MaxPositions(); mp > 0 {
		s.room = mp - 8
		s.maxTok = min(s.maxTok, s.room)
	}
	mux := http.NewServeMux()
	for _, p := range []string{PathOpenAI, PathMistral, PathLlamaCpp, PathOllama} {
		mux.Handle("POST "+p, s.guard(p, s.handleFill(p)))
	}
	mux.Handle("GET /v1/models", s.guard("/v1/models", http.HandlerFunc(s.handleModels)))
	mux.Handle("GET /metrics", s.guard("/metrics", http.HandlerFunc(s.handleMetrics)))
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r.URL.Path, &apiError{http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)})
	})
	s.mux = mux
	return s, nil
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Drain makes /health answer 503 and new requests get 503, so a load
// balancer stops sending work; requests in flight continue.
func (s *Server) Drain() { s.draining.Store(true) }

// Shutdown drains and stops the batcher: requests still waiting for
// room get 503, those in the batch finish. Call it after the HTTP
// server's Shutdown has waited for the requests in flight, and before
// closing the Engine.
func (s *Server) Shutdown() {
	s.Drain()
	if s.batch != nil {
		s.batch.Close()
	}
}

// guard checks auth, draining and the method, and counts the answer.
func (s *Server) guard(endpoint string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() { s.metrics.observeRequest(endpoint, rw.code, time.Since(start)) }()
		if s.opts.APIKey != "" && !s.authorized(r) {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="dream-lsp"`)
			writeError(rw, endpoint, &apiError{http.StatusUnauthorized, "missing or wrong API key: send Authorization: Bearer KEY"})
			return
		}
		if s.draining.Load() {
			rw.Header().Set("Retry-After", "1")
			writeError(rw, endpoint, &apiError{http.StatusServiceUnavailable, "the server is shutting down"})
			return
		}
		h.ServeHTTP(rw, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(h[:], s.keyHash[:]) == 1
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"status":"draining"}`)
		return
	}
	fmt.Fprintln(w, `{"status":"ok"}`)
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	// The dream object tells dream-lsp clients the canvas limit, so their
	// windows are cut as they would be in-process.
	writeJSON(w, map[string]any{"object": "list", "data": []map[string]any{
		{"id": s.opts.Model, "object": "model", "created": 0, "owned_by": "dream-lsp",
			"dream": map[string]any{"max_positions": s.rt.MaxPositions()}},
	}})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w)
}

// handleFill answers one of the four completion shapes.
func (s *Server) handleFill(endpoint string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Any Content-Type: curl -d and some plugins send form types; the body must be JSON all the same.
		j, aerr := decodeJob(endpoint, http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
		if aerr != nil {
			writeError(w, endpoint, aerr)
			return
		}
		req, aerr := s.fillRequest(j)
		if aerr != nil {
			writeError(w, endpoint, aerr)
			return
		}
		if d := s.metrics.queueDepth.Add(1); d > int64(s.opts.QueueSize) {
			s.metrics.queueDepth.Add(-1)
			s.metrics.reject()
			w.Header().Set("Retry-After", "1")
			writeError(w, endpoint, &apiError{http.StatusServiceUnavailable, fmt.Sprintf("queue full (%d requests); retry later", s.opts.QueueSize)})
			return
		}
		defer s.metrics.queueDepth.Add(-1)
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
		defer cancel()
		start := time.Now()
		mids, promptTokens, err := s.eng.FillPrompt(ctx, req)
		if err != nil {
			switch {
			case r.Context().Err() != nil:
				// The client went away: nobody reads an answer.
				s.log.Debug("api request cancelled by the client", "endpoint", endpoint)
				writeError(w, endpoint, &apiError{499, "request cancelled"})
			case errors.Is(err, context.DeadlineExceeded):
				writeError(w, endpoint, &apiError{http.StatusGatewayTimeout, fmt.Sprintf("the model took longer than %v", s.opts.Timeout)})
			case errors.Is(err, errStopped):
				w.Header().Set("Retry-After", "1")
				writeError(w, endpoint, &apiError{http.StatusServiceUnavailable, err.Error()})
			default:
				s.log.Error("api fill failed", "endpoint", endpoint, "err", err)
				writeError(w, endpoint, &apiError{http.StatusInternalServerError, "the model failed: " + err.Error()})
			}
			return
		}
		s.respond(w, j, req, mids, promptTokens, time.Since(start))
	})
}

// fillRequest turns a decoded job into the engine's request, checking it
// against the model.
func (s *Server) fillRequest(j *job) (infill.FillRequest, *apiError) {
	req := infill.FillRequest{Prefix: j.prefix, Suffix: j.suffix}
	// llama.cpp's input_extra: before the prefix, each under a comment
	// naming its file, as dream-lsp places related code in-process (the
	// comment is the line comment of the first chunk's language).
	for _, c := range j.extra {
		req.Related = append(req.Related, crossfile.Chunk{Path: c.Filename, Text: c.Text})
		if l, ok := lang.Detect("", c.Filename); ok && req.Comment == "" {
			req.Comment = l.LineComment
		}
	}
	req.MaxTokens = s.maxTok
	if j.maxTokens > 0 {
		// A maximum: clamp it to what the model holds.
		req.MaxTokens = min(j.maxTokens, infill.MaxFillLength)
		if s.room > 0 {
			req.MaxTokens = min(req.MaxTokens, s.room)
		}
	}
	req.Expand = true
	if d := j.dream; d != nil {
		req.Steps, req.Alg, req.BOS = d.Steps, d.Alg, d.BOS
		if d.Alg != "" {
			if err := (sampler.Options{Alg: sampler.Alg(d.Alg)}).Validate(); err != nil {
				return req, badRequest(`"dream.alg": %v`, err)
			}
		}
		for _, n := range d.Lengths {
			if n > infill.MaxFillLength || s.room > 0 && n > s.room {
				return req, badRequest(`"dream.lengths": %d is longer than the model allows (%d)`, n, min(infill.MaxFillLength, max(s.room, 0)))
			}
		}
		req.Lengths = append([]int(nil), d.Lengths...)
		req.Expand = len(d.Lengths) == 0
		if d.Expand != nil {
			req.Expand = *d.Expand
		}
	}
	if len(req.Lengths) == 0 {
		req.Lengths = []int{req.MaxTokens}
	}
	for _, n := range req.Lengths {
		req.MaxTokens = max(req.MaxTokens, n)
	}
	return req, nil
}

// best is the middle answered to clients that take one: the most confident.
func best(mids []infill.Middle) int {
	b := 0
	for i, m := range mids {
		if m.SlotMean > mids[b].SlotMean {
			b = i
		}
	}
	return b
}

// respond writes the answer in the request's shape.
func (s *Server) respond(w http.ResponseWriter, j *job, req infill.FillRequest, mids []infill.Middle, promptTokens int, took time.Duration) {
	if len(mids) == 0 {
		writeError(w, j.endpoint, &apiError{http.StatusInternalServerError, "the model returned no middle"})
		return
	}
	bi := best(mids)
	b := mids[bi]
	alg := req.Alg
	if alg == "" {
		alg = s.opts.Infill.Alg
		if alg == "" {
			alg = infill.DefaultAlg
		}
	}
	dr := &DreamResult{Middles: mids, Lengths: req.Lengths, Steps: req.Steps, Alg: alg, Seed: j.seed}
	finish := "stop"
	if bi < len(req.Lengths) && b.Tokens >= req.Lengths[bi] {
		finish = "length"
	}
	model := s.opts.Model
	now := time.Now()
	id := fmt.Sprintf("cmpl-%x", now.UnixNano())
	usage := map[string]int{"prompt_tokens": promptTokens, "completion_tokens": b.Tokens, "total_tokens": promptTokens + b.Tokens}
	switch j.endpoint {
	case PathOpenAI:
		choice := map[string]any{"text": b.Text, "index": 0, "logprobs": nil, "finish_reason": finish}
		body := map[string]any{"id": id, "object": "text_completion", "created": now.Unix(), "model": model, "choices": []any{choice}, "usage": usage, "dream": dr}
		if j.stream {
			sse(w, body, true)
			return
		}
		writeJSON(w, body)
	case PathMistral:
		body := map[string]any{"id": id, "object": "chat.completion", "created": now.Unix(), "model": model, "usage": usage, "dream": dr}
		if j.stream {
			body["object"] = "chat.completion.chunk"
			body["choices"] = []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": b.Text}, "finish_reason": finish}}
			sse(w, body, true)
			return
		}
		body["choices"] = []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": b.Text}, "finish_reason": finish}}
		writeJSON(w, body)
	case PathLlamaCpp:
		body := map[string]any{"content": b.Text, "stop": true, "model": model, "tokens_predicted": b.Tokens, "tokens_evaluated": promptTokens,
			"stop_type": map[bool]string{true: "limit", false: "eos"}[finish == "length"],
			"timings":   map[string]any{"predicted_ms": float64(took.Microseconds()) / 1000, "predicted_n": b.Tokens}, "dream": dr}
		if j.stream {
			sse(w, body, false)
			return
		}
		writeJSON(w, body)
	case PathOllama:
		body := map[string]any{"model": model, "created_at": now.UTC().Format(time.RFC3339Nano), "response": b.Text, "done": true,
			"done_reason": finish, "total_duration": took.Nanoseconds(), "eval_count": b.Tokens, "prompt_eval_count": promptTokens, "dream": dr}
		if j.stream {
			w.Header().Set("Content-Type", "application/x-ndjson")
			enc := newEncoder(w)
			enc.Encode(map[string]any{"model": model, "created_at": body["created_at"], "response": b.Text, "done": false, "dream": dr})
			body["response"] = ""
			enc.Encode(body)
			return
		}
		writeJSON(w, body)
	}
}

// sse writes one server-sent event with the whole middle (a diffusion
// model has it only at the end), then [DONE] for the OpenAI-style APIs.
func sse(w http.ResponseWriter, body any, done bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	var b strings.Builder
	newEncoder(&b).Encode(body)
	fmt.Fprintf(w, "data: %s\n\n", strings.TrimSuffix(b.String(), "\n"))
	if done {
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	newEncoder(w).Encode(v)
}

// newEncoder writes code as it is ("<", ">" and "&" unescaped).
func newEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// writeError answers with a JSON error: {"error": "..."} for Ollama's
// shape (its clients read a string), OpenAI's object elsewhere.
func writeError(w http.ResponseWriter, endpoint string, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.code)
	if endpoint == PathOllama {
		json.NewEncoder(w).Encode(map[string]any{"error": e.msg})
		return
	}
	typ := "invalid_request_error"
	switch {
	case e.code == http.StatusUnauthorized:
		typ = "authentication_error"
	case e.code >= 500:
		typ = "server_error"
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": e.msg, "type": typ, "code": e.code}})
}

// statusWriter records the status code for metrics.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
