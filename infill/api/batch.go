package api

import (
	"context"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// BatchOptions configure how the server batches the in-process model's
// requests (Options.Engine).
type BatchOptions struct {
	// Off runs every denoise call alone, one after another (for
	// comparison); otherwise concurrent requests share one continuous
	// batch (engine.Batcher): every denoising step is one forward pass
	// over the canvases of all requests in flight, a request that arrives
	// joins at the next step boundary and leaves as soon as it is done.
	Off bool
	// MaxRows caps the canvases denoised together (0: DefaultBatchRows);
	// a request that does not fit waits for a step boundary with room.
	MaxRows int
}

// DefaultBatchRows is BatchOptions.MaxRows' default: eight editors'
// requests of three lengths, with room to spare.
const DefaultBatchRows = engine.DefaultBatchCanvases

// errStopped is what the batcher answers after Shutdown.
var errStopped = engine.ErrBatcherClosed

// newBatched returns the in-process runtime over e with continuous
// batching, its steps counted in m.
func newBatched(e *engine.Engine, opts BatchOptions, m *metrics) (*engine.Batcher, infill.Runtime, error) {
	b, err := engine.NewBatcher(e, engine.BatchOptions{MaxCanvases: opts.MaxRows, Observe: m.observeStep})
	if err != nil {
		return nil, nil, err
	}
	rt, err := infill.FromEngine(b)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, rt, nil
}

// withExpand forwards DreamOn's loop (infill.ExpandDenoiser) of inner
// beside rt's Denoise (unbatched hides it by embedding the interface).
type withExpand struct {
	infill.Runtime
	x infill.ExpandDenoiser
}

func (w withExpand) DenoiseExpand(ctx context.Context, req infill.ExpandRequest) (*infill.ExpandResult, error) {
	return w.x.DenoiseExpand(ctx, req)
}

// wrapExpand returns rt, with inner's DreamOn loop when inner has one.
func wrapExpand(rt, inner infill.Runtime) infill.Runtime {
	if x, ok := inner.(infill.ExpandDenoiser); ok {
		return withExpand{rt, x}
	}
	return rt
}

// unbatched passes every denoise call straight to the runtime, counted in
// the same metrics as one request per call: BatchOptions.Off, and
// runtimes other than the in-process engine.
type unbatched struct {
	infill.Runtime
	metrics *metrics
}

func (u *unbatched) Denoise(ctx context.Context, req infill.DenoiseRequest) (*infill.DenoiseResult, error) {
	start := time.Now()
	out, err := u.Runtime.Denoise(ctx, req)
	u.metrics.observeCall(len(req.Canvases), engine.CountMasks(req.Canvases, u.MaskID()), time.Since(start), err)
	return out, err
}
