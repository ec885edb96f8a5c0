package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/api"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// runAPI serves the in-process runtime over HTTP (infill/api) until
// SIGINT or SIGTERM, then drains: /health turns 503, requests in flight
// finish (up to --drain-timeout), new ones get 503.
func runAPI(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "`ADDR` to listen on (host:port; loopback unless told otherwise, e.g. :8080 for every interface; port 0 picks a free one)")
	modelDir := fs.String("model", "", "model directory or .gguf; empty: the built-in model")
	modelName := fs.String("model-name", "", "name reported by /v1/models and responses (default: the model directory's base name)")
	device := fs.String("device", "auto", "auto, cpu or cuda")
	weights, matmul := "", ""
	weightsFlag(fs, &weights)
	matmulFlag(fs, &matmul, engine.MatmulAuto)
	keyEnv := fs.String("api-key-env", "", "require `NAME`d environment variable's value as a bearer token (the key is never logged)")
	queue := fs.Int("queue", api.DefaultQueueSize, "requests admitted at once (running or waiting); more get 503 with Retry-After")
	noBatch := fs.Bool("no-batch", false, "run every request alone, one after another (for comparison); by default concurrent requests share one continuous batch")
	batchRows := fs.Int("batch-rows", api.DefaultBatchRows, "most canvases denoised together in one step; more wait for room")
	maxBody := fs.Int64("max-body", api.DefaultMaxBody, "largest request body in bytes")
	timeout := fs.Duration("timeout", api.DefaultTimeout, "longest model time for one request")
	drain := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	steps := fs.Int("steps", 0, "default denoising steps (0: one per middle token)")
	alg := fs.String("alg", "", "default sampler algorithm (default entropy)")
	maxTokens := fs.Int("max-tokens", 0, "default middle length in tokens when a request names none (0: 64)")
	threads := fs.Int("threads", 0, "CPU threads (0: all cores)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp api [flags]")
		fmt.Fprintln(stderr, "\nServes the model over HTTP: POST /v1/completions (OpenAI), /v1/fim/completions (Mistral),\n/infill (llama.cpp), /api/generate (Ollama); GET /v1/models, /health, /metrics. See docs/DEPLOY.md.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	wm, err := parseWeights(weights)
	if err != nil {
		return err
	}
	mm, err := parseMatmul(matmul)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	key := ""
	if *keyEnv != "" {
		key = os.Getenv(*keyEnv)
		if key == "" {
			return fmt.Errorf("%w: --api-key-env %s: the variable is empty or unset", errUsage, *keyEnv)
		}
	}
	if *queue < 1 || *batchRows < 1 || *maxBody < 1 {
		return fmt.Errorf("%w: --queue, --batch-rows and --max-body must be positive", errUsage)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	defer ln.Close()
	eng, name, err := openModel(*modelDir, *device, engine.Options{Threads: *threads, Logger: log, Cache: denoise.CacheOptions{Enabled: true}, Weights: wm, Matmul: mm})
	if err != nil {
		return err
	}
	defer eng.Close()
	if *modelName != "" {
		name = *modelName
	}
	b := api.BatchOptions{Off: *noBatch, MaxRows: *batchRows}
	srv, err := api.New(api.Options{
		Engine: eng, Model: name, Batch: b, APIKey: key, MaxBody: *maxBody, QueueSize: *queue, Timeout: *timeout, Logger: log,
		Infill: infill.Options{Steps: *steps, Alg: *alg, MaxTokens: *maxTokens},
	})
	if err != nil {
		return fmt.Errorf("model %s: %w", name, err)
	}
	defer srv.Shutdown() // before eng.Close (deferred earlier)
	// A client that sends its request slowly (or opens connections and
	// stays idle) holds a goroutine, not the model: bound both.
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "model", name, "backend", eng.Backend(), "auth", key != "", "batching", !*noBatch)
	select {
	case err := <-served:
		srv.Shutdown()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", "timeout", *drain)
	srv.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	err = hs.Shutdown(sctx)
	srv.Shutdown()
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	log.Info("stopped")
	return nil
}
