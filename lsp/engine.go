package lsp

import (
	"context"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
)

// Engine is what the server needs from the completion engine; infill.Engine
// implements it. Implementations must be safe for concurrent use, honour
// ctx (return promptly with ctx.Err() when it is done) and never retain the
// request's text after returning.
type Engine interface {
	Complete(ctx context.Context, req infill.Request) (*infill.Result, error)
	FillHoles(ctx context.Context, req infill.HolesRequest) ([]infill.Edit, error)
}

// EngineInfo is optionally implemented by an Engine to name what it runs on
// for the status notification.
type EngineInfo interface {
	Backend() string   // "cpu" or "cuda"
	ModelName() string // e.g. "Dream-Coder-v0-Instruct-7B" or "builtin"
}

// Loader opens the engine for the given settings (model, device). The server
// calls it in the background after initialization and again when those
// settings change; progress reports loading progress (percent in [0, 100])
// and may be called from any goroutine until Loader returns. Loader should
// return ctx.Err() promptly when ctx is cancelled. If the returned Engine
// implements io.Closer it is closed once it is replaced and no request uses
// it any more.
type Loader func(ctx context.Context, opts settings.Options, progress func(percent int, message string)) (Engine, error)
