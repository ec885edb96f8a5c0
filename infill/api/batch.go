package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
)

// BatchOptions configure the batcher that joins concurrent requests into
// one denoising call.
type BatchOptions struct {
	// Window is how long the first denoise request of a batch waits for
	// others (0: DefaultBatchWindow; negative: no batching, every request
	// runs alone, one after another).
	Window time.Duration
	// MaxRows caps the canvases of one call (0: DefaultBatchRows).
	MaxRows int
}

// Batching defaults: a few milliseconds is small beside a denoising call
// (tens of milliseconds on the CPU) and long enough for editors that fire
// at the same time.
const (
	DefaultBatchWindow = 3 * time.Millisecond
	DefaultBatchRows   = 32
)

// batcher is an infill.Runtime whose Denoise joins requests that arrive
// while the model is busy (or within Window of each other) into one
// runtime call: their canvases become rows of one batch, each row keeping
// its own step count (denoise's RowSteps), so every request gets what it
// would get alone. Requests with different algorithms run in separate
// calls. A cancelled request leaves the batch at once; the call itself is
// cancelled only when every request in it is.
type batcher struct {
	infill.Runtime
	opts    BatchOptions
	in      chan *pending
	stop    chan struct{}
	done    chan struct{}
	metrics *metrics
	once    sync.Once
}

// pending is one Denoise call waiting for its batch.
type pending struct {
	ctx  context.Context
	req  infill.DenoiseRequest
	res  chan result
	rows int
}

type result struct {
	out *infill.DenoiseResult
	err error
}

// errStopped is returned by Denoise after the batcher was closed.
var errStopped = errors.New("api: the server is shutting down")

func newBatcher(rt infill.Runtime, opts BatchOptions, m *metrics) *batcher {
	if opts.Window == 0 {
		opts.Window = DefaultBatchWindow
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultBatchRows
	}
	b := &batcher{Runtime: rt, opts: opts, in: make(chan *pending, 1024), stop: make(chan struct{}), done: make(chan struct{}), metrics: m}
	go b.loop()
	return b
}

// withExpand forwards DreamOn's loop (infill.ExpandDenoiser) of inner,
// unbatched (its canvas changes length every step), beside rt's Denoise.
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

// Denoise queues req for the next batch and waits for its rows.
func (b *batcher) Denoise(ctx context.Context, req infill.DenoiseRequest) (*infill.DenoiseResult, error) {
	p := &pending{ctx: ctx, req: req, res: make(chan result, 1), rows: len(req.Canvases)}
	b.metrics.batchWaiting.Add(1)
	select {
	case b.in <- p:
	case <-ctx.Done():
		b.metrics.batchWaiting.Add(-1)
		return nil, ctx.Err()
	case <-b.stop:
		b.metrics.batchWaiting.Add(-1)
		return nil, errStopped
	}
	select {
	case r := <-p.res:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.done:
		select {
		case r := <-p.res:
			return r.out, r.err
		default:
			return nil, errStopped
		}
	}
}

// close stops the loop after the batch in progress; queued requests get
// errStopped.
func (b *batcher) close() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	for {
		var first *pending
		select {
		case first = <-b.in:
		case <-b.stop:
			b.drain()
			return
		}
		group := []*pending{first}
		rows := first.rows
		if b.opts.Window > 0 {
			timer := time.NewTimer(b.opts.Window)
		collect:
			for rows < b.opts.MaxRows {
				select {
				case p := <-b.in:
					group = append(group, p)
					rows += p.rows
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
			// Everything already queued joins too (it arrived while the
			// model was busy), up to the row cap.
		more:
			for rows < b.opts.MaxRows {
				select {
				case p := <-b.in:
					group = append(group, p)
					rows += p.rows
				default:
					break more
				}
			}
		}
		b.metrics.batchWaiting.Add(-int64(len(group)))
		for _, g := range byAlg(group) {
			b.run(g)
		}
	}
}

// drain answers every queued request with errStopped.
func (b *batcher) drain() {
	for {
		select {
		case p := <-b.in:
			b.metrics.batchWaiting.Add(-1)
			p.res <- result{err: errStopped}
		default:
			return
		}
	}
}

// byAlg splits a group into runs that can share one call (same algorithm),
// in arrival order.
func byAlg(group []*pending) [][]*pending {
	var out [][]*pending
	idx := map[string]int{}
	for _, p := range group {
		i, ok := idx[p.req.Alg]
		if !ok {
			i = len(out)
			idx[p.req.Alg] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], p)
	}
	return out
}

// run makes one runtime call for the live requests of g and hands each
// its rows back.
func (b *batcher) run(g []*pending) {
	live := g[:0:0]
	for _, p := range g {
		if err := p.ctx.Err(); err != nil {
			p.res <- result{err: err}
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	var req infill.DenoiseRequest
	req.Alg = live[0].req.Alg
	for _, p := range live {
		req.Steps = max(req.Steps, p.req.Steps)
	}
	for _, p := range live {
		for r, c := range p.req.Canvases {
			req.Canvases = append(req.Canvases, c)
			s := p.req.Steps
			if r < len(p.req.RowSteps) && p.req.RowSteps[r] != 0 {
				s = p.req.RowSteps[r]
			}
			req.RowSteps = append(req.RowSteps, s)
		}
	}
	// The call runs while any of its requests still wants it.
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	left := len(live)
	for _, p := range live {
		stop := context.AfterFunc(p.ctx, func() {
			mu.Lock()
			left--
			if left == 0 {
				cancel()
			}
			mu.Unlock()
		})
		defer stop()
	}
	defer cancel()
	start := time.Now()
	out, err := b.Runtime.Denoise(ctx, req)
	b.metrics.observeBatch(len(live), len(req.Canvases), countMasks(req.Canvases, b.MaskID()), time.Since(start), err)
	if err == nil && (len(out.Canvases) != len(req.Canvases)) {
		err = errors.New("api: the runtime returned a malformed batch")
	}
	at := 0
	for _, p := range live {
		if err != nil {
			p.res <- result{err: err}
			continue
		}
		n := len(p.req.Canvases)
		r := &infill.DenoiseResult{Canvases: out.Canvases[at : at+n]}
		if len(out.Confidence) == len(out.Canvases) {
			r.Confidence = out.Confidence[at : at+n]
		}
		at += n
		p.res <- result{out: r}
	}
}

func countMasks(canvases [][]int, mask int) int {
	n := 0
	for _, c := range canvases {
		for _, id := range c {
			if id == mask {
				n++
			}
		}
	}
	return n
}
