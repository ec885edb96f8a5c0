package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/remote"
	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
)

// openRemoteEngine is serve's engine when the remote setting names a
// server: the infill engine over a remote model (infill/remote). Windows
// and lengths are counted with the built-in model's tokenizer (the same as
// a dream-lsp api serving the built-in model, close enough for others),
// within the canvas limit a dream-lsp api reports. Loading does not wait
// for the server: when it is down, completions fail with an "unreachable"
// status until it is back, and nothing else waits on the network.
func openRemoteEngine(ctx context.Context, opts settings.Options, progress func(int, string)) (lsp.Engine, error) {
	r := opts.Remote
	progress(0, "connecting to "+r.URL)
	cl, err := remote.New(remote.Config{URL: r.URL, API: r.API, Model: r.Model, APIKeyEnv: r.APIKeyEnv, Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.LoadFS(builtin.FS())
	if err != nil {
		return nil, fmt.Errorf("the built-in tokenizer: %w", err)
	}
	name := r.Model
	maxPos := 0
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	info, err := cl.Info(ictx)
	cancel()
	switch {
	case err == nil:
		maxPos = info.MaxPositions
		if name == "" {
			name = info.Model
		}
	default:
		slog.Warn("the model server did not describe its model; using default windows", "url", cl.URL(), "err", err)
	}
	if name == "" {
		name = cl.URL()
	}
	slog.Info("using a remote model", "url", cl.URL(), "api", cl.API(), "model", name, "max_positions", maxPos)
	progress(100, "ready")
	return &remoteEngine{
		Engine: infill.New(&remote.Runtime{Tok: tok, MaxPos: maxPos}, infill.Options{Logger: slog.Default(), Remote: cl}),
		model:  name,
	}, nil
}

// remoteEngine is an infill engine over a remote model.
type remoteEngine struct {
	*infill.Engine
	model string
}

func (e *remoteEngine) Backend() string   { return "remote" }
func (e *remoteEngine) ModelName() string { return e.model }
func (e *remoteEngine) Close() error      { return nil }
