package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// Test fixture, not a user feature: when DREAM_LSP_TEST_ENGINE is set
// ("echo", "slow", "panic" or "scripted:FILE", lsptest.Script), serve answers from a fake engine of
// lsp/lsptest instead of a model, so the Node and Neovim integration tests
// can drive the real binary without weights. DREAM_LSP_TEST_DELAY_MS sets the
// "slow" engine's delay per request (default 300).
const (
	testEngineEnv = "DREAM_LSP_TEST_ENGINE"
	testDelayEnv  = "DREAM_LSP_TEST_DELAY_MS"
)

// newEngine opens the real completion engine for the settings; serve calls
// it in the background, and again when the model or device setting changes.
var newEngine lsp.Loader = openServeEngine

// runServe runs the language server on stdin/stdout.
func runServe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "model directory (Hugging Face layout); empty: the built-in model. The client's \"model\" setting overrides it")
	logFile := fs.String("log", "", "append logs to `FILE` instead of stderr")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	weights, matmul := "", ""
	weightsFlag(fs, &weights)
	matmulFlag(fs, &matmul, engine.MatmulAuto)
	remoteURL := fs.String("remote", "", "use the model server at `URL` instead of an in-process model (dream-lsp api, llama-server, vLLM: the openai shape; the client's \"remote\" setting overrides it)")
	fs.Bool("stdio", true, "talk LSP over stdin/stdout (the only transport; accepted because clients pass it)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp serve [flags]")
		fmt.Fprintln(stderr, "\nRuns the language server on stdin/stdout. Settings come from the client (see docs/protocol.md).\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	wm, werr := parseWeights(weights)
	if werr != nil {
		return werr
	}
	serveWeights = wm
	if serveMatmul, werr = parseMatmul(matmul); werr != nil {
		return werr
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *logLevel)
	}
	logOut := stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		defer f.Close()
		logOut = f
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	load := newEngine
	if name := os.Getenv(testEngineEnv); name != "" {
		delay := 300 * time.Millisecond
		if ms, err := strconv.Atoi(os.Getenv(testDelayEnv)); err == nil {
			delay = time.Duration(ms) * time.Millisecond
		}
		var e lsp.Engine
		var err error
		if file, ok := strings.CutPrefix(name, "scripted:"); ok {
			// The real infill path over a fake model writing scripted middles.
			e, err = lsptest.LoadScripted(file)
		} else {
			e, err = lsptest.EngineByName(name, delay)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", testEngineEnv, err)
		}
		logger.Warn("serving a test engine, not a model", "engine", name)
		load = lsptest.Loader(e)
	}

	base := settings.Default()
	base.Model = *model
	if *remoteURL != "" {
		raw, _ := json.Marshal(map[string]any{"remote": map[string]string{"url": *remoteURL}})
		merged, problems, err := base.Merge(raw)
		if err != nil || len(problems) > 0 {
			return fmt.Errorf("%w: --remote: %s %v", errUsage, strings.Join(problems, "; "), err)
		}
		base = merged
	}
	srv := lsp.New(lsp.Options{Logger: logger, Load: load, Settings: base, Version: version})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := srv.Serve(ctx, stdio{Reader: os.Stdin, Writer: stdout})
	if errors.Is(err, context.Canceled) {
		return nil // a signal: not an error
	}
	return err
}

// stdio joins stdin and stdout into the server's stream.
type stdio struct {
	io.Reader
	io.Writer
}

// Close closes stdin so a blocked read returns.
func (stdio) Close() error { return os.Stdin.Close() }

// openServeEngine opens a model directory with the CPU runtime and wraps it in
// the infill engine.
func openServeEngine(ctx context.Context, opts settings.Options, progress func(int, string)) (lsp.Engine, error) {
	if opts.Remote.URL != "" {
		return openRemoteEngine(ctx, opts, progress)
	}
	progress(0, "opening "+modelName(opts.Model))
	// The dual K/V cache (refresh every 4 steps) is what makes CPU completions
	// interactive; docs/BENCHMARKS.md "KV cache (CPU)" has its cost and agreement.
	eng, name, err := openModel(opts.Model, opts.Device, engine.Options{Logger: slog.Default(), Cache: denoise.CacheOptions{Enabled: true}, Weights: serveWeights, Matmul: serveMatmul})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		eng.Close()
		return nil, err
	}
	rt, err := infill.FromEngine(eng)
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	progress(100, "ready")
	return &servedEngine{
		Engine:  infill.New(rt, infill.Options{Logger: slog.Default()}),
		rt:      eng,
		backend: eng.Backend(),
		model:   name,
	}, nil
}

// servedEngine is an infill engine that owns its runtime.
type servedEngine struct {
	*infill.Engine
	rt             *engine.Engine
	backend, model string
}

func (e *servedEngine) Backend() string   { return e.backend }
func (e *servedEngine) ModelName() string { return e.model }
func (e *servedEngine) Close() error      { return e.rt.Close() }
