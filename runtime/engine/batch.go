package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dream-lsp/dream-lsp/runtime/denoise"
)

// BatchOptions configure a Batcher.
type BatchOptions struct {
	// MaxCanvases caps the canvases denoised together in one step (0:
	// DefaultBatchCanvases). A request that does not fit waits for a step
	// boundary with room; one larger than the cap runs when it is first
	// in line and the stream is empty.
	MaxCanvases int
	// Observe, when set, is called after every step on the batcher's
	// goroutine (for metrics); it must not block.
	Observe func(BatchStep)
}

// DefaultBatchCanvases is BatchOptions.MaxCanvases' default.
const DefaultBatchCanvases = 32

// BatchStep describes one step of a Batcher.
type BatchStep struct {
	denoise.StepStats
	Dur      time.Duration // the step: forward pass and sampling
	Waiting  int           // requests waiting for room after this step
	Finished []Finished    // requests that left in this step
	Err      error         // a failed forward pass (every request in it failed)
}

// Finished is a request that left a Batcher's stream.
type Finished struct {
	Canvases int
	Slots    int           // masked slots it filled (0 when it failed)
	Dur      time.Duration // from joining the queue to leaving
	Err      error
}

// ErrBatcherClosed is returned by Batcher.Denoise after Close.
var ErrBatcherClosed = errors.New("engine: the batcher is closed")

// Batcher is an Engine whose Denoise joins concurrent requests into one
// continuous batch (denoise.Stream): every step runs one forward pass over
// the canvases of all requests in flight, a request that arrives while
// others run joins at the next step boundary, and each leaves as soon as
// it is done. Each request gets exactly the tokens Engine.Denoise gives it
// alone (its own steps, sampler, seed, refresh policy and context).
//
// Requests the stream cannot take run alone through Engine.Denoise,
// between the stream's steps: DreamOn (the canvas changes length), a
// request whose Cache differs from the engine's mode, carries Reuse or
// asks for the per-block cache (kvcache.Policy.Blocks),
// and single-canvas requests when the engine reuses its K/V cache across
// calls (Options.ReuseCache).
type Batcher struct {
	*Engine
	opts   BatchOptions
	stream *denoise.Stream
	in     chan *call
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	alone  bool // the engine runs a device's fast path (Engine.Path): every request runs through Engine.Denoise
}

// call is one Denoise waiting for, or in, the stream.
type call struct {
	ctx   context.Context
	req   denoise.Request
	res   chan callResult
	start time.Time
	slots int
}

type callResult struct {
	res *denoise.Result
	err error
}

// NewBatcher starts a Batcher over e. Close it before closing e.
func NewBatcher(e *Engine, opts BatchOptions) (*Batcher, error) {
	if opts.MaxCanvases <= 0 {
		opts.MaxCanvases = DefaultBatchCanvases
	}
	e.mu.Lock()
	m, dev := e.m, e.dev
	e.mu.Unlock()
	if m == nil && dev == nil {
		return nil, ErrClosed
	}
	var sm denoise.Model = dev // a stream over the device keeps no jobs (alone)
	if m != nil {
		sm = m
	}
	s, err := denoise.NewStream(sm, m != nil && e.cache.Enabled)
	if err != nil {
		return nil, err
	}
	b := &Batcher{Engine: e, opts: opts, stream: s, in: make(chan *call), stop: make(chan struct{}), done: make(chan struct{}), alone: m == nil}
	go b.loop()
	return b, nil
}

// Denoise runs req in the continuous batch (or alone, see Batcher) and
// returns its result. A cancelled ctx returns at once; the request leaves
// the batch at the next step boundary.
func (b *Batcher) Denoise(ctx context.Context, req denoise.Request) (*denoise.Result, error) {
	req = b.defaults(req)
	if !b.streams(req) {
		return b.Engine.Denoise(ctx, req)
	}
	c := &call{ctx: ctx, req: req, res: make(chan callResult, 1), start: time.Now(), slots: CountMasks(req.Canvases, b.cfg.MaskTokenID)}
	select {
	case b.in <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.stop:
		return nil, ErrBatcherClosed
	}
	select {
	case r := <-c.res:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// streams reports whether req can join the stream.
func (b *Batcher) streams(req denoise.Request) bool {
	if b.alone || req.DreamOn != nil || req.Cache.Reuse != nil || req.Cache.Policy.Blocks || req.Cache.Enabled != b.stream.Cached() {
		return false
	}
	return !(b.reuse && req.Cache.Enabled && len(req.Canvases) == 1)
}

// Close stops taking requests: those waiting for room get
// ErrBatcherClosed, those in the stream run to the end. It returns when
// the stream is empty.
func (b *Batcher) Close() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}

func (b *Batcher) loop() {
	defer close(b.done)
	defer b.stream.Close()
	var queue []*call
	jobs := map[*denoise.Job]*call{}
	stopped := false
	for {
		if len(jobs) == 0 && len(queue) == 0 {
			if stopped {
				return
			}
			select {
			case c := <-b.in:
				queue = append(queue, c)
			case <-b.stop:
				return
			}
		}
	more: // everything that arrived during the last step joins now
		for !stopped {
			select {
			case c := <-b.in:
				queue = append(queue, c)
			case <-b.stop:
				stopped = true
			default:
				break more
			}
		}
		if stopped {
			for _, c := range queue {
				c.res <- callResult{err: ErrBatcherClosed}
			}
			queue = nil
		}
		canvases := 0
		for _, j := range b.stream.Active() {
			canvases += j.Canvases()
		}
		for len(queue) > 0 {
			c := queue[0]
			if err := c.ctx.Err(); err != nil {
				c.res <- callResult{err: err}
				queue = queue[1:]
				continue
			}
			n := len(c.req.Canvases)
			if canvases > 0 && canvases+n > b.opts.MaxCanvases {
				break
			}
			j, err := b.stream.Add(c.ctx, c.req)
			if err != nil {
				c.res <- callResult{err: err}
			} else {
				jobs[j] = c
				canvases += n
			}
			queue = queue[1:]
		}
		if len(jobs) == 0 {
			continue
		}
		start := time.Now()
		b.mu.Lock()
		if b.m == nil {
			// Closed under the batcher: nothing in the stream can run.
			b.mu.Unlock()
			for j, c := range jobs {
				c.res <- callResult{err: ErrClosed}
				delete(jobs, j)
			}
			b.stream.Drop()
			continue
		}
		fin, st, err := b.stream.Step()
		b.mu.Unlock()
		step := BatchStep{StepStats: st, Dur: time.Since(start), Waiting: len(queue), Err: err}
		for _, j := range fin {
			c := jobs[j]
			delete(jobs, j)
			res, jerr := j.Result()
			f := Finished{Canvases: j.Canvases(), Dur: time.Since(c.start), Err: jerr}
			if jerr == nil {
				f.Slots = c.slots
			}
			step.Finished = append(step.Finished, f)
			c.res <- callResult{res: res, err: jerr}
		}
		if err != nil {
			b.log.Error("batched denoise step failed", "requests", st.Jobs, "err", err)
		}
		if b.opts.Observe != nil {
			b.opts.Observe(step)
		}
	}
}

// CountMasks returns how many of canvases' tokens are mask: the slots a
// call fills (Finished.Slots), also what the api's unbatched metrics count.
func CountMasks(canvases [][]int, mask int) int {
	n := 0
	for _, c := range canvases {
		n += denoise.MaskCount(c, mask)
	}
	return n
}
