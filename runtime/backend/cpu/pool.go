package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool keeps threads−1 worker goroutines that, after an operation, spin
// briefly for the next one before they sleep. A forward pass of the
// built-in model is some seventy operations of tens of microseconds,
// separated by a few microseconds of Go: a goroutine started (or woken)
// per operation reaches the second core about as late as the operation
// ends, which left one of two cores idle a third of a batched pass
// (docs/BENCHMARKS.md, issue 12). Work is split exactly as without the
// pool, so no result changes.
type pool struct {
	mu      sync.Mutex // held by the one caller that dispatches at a time
	sleepMu sync.Mutex
	cond    *sync.Cond
	gen     atomic.Uint64 // bumped (under sleepMu) for every job and for stop
	job     atomic.Pointer[poolJob]
	stopped atomic.Bool
}

// spinFor is how long an idle worker (or a caller waiting for the last
// task) polls before it blocks: longer than the Go between two operations
// of a pass, short against the pause between passes.
const spinFor = 50 * time.Microsecond

// poolJob is one operation: every participant calls run, which claims
// tasks until none is left. state counts the workers inside run, with
// closedBit set once the caller has finished its own run; the worker that
// leaves last after that closes done.
type poolJob struct {
	run   func()
	state atomic.Int64
	done  chan struct{}
}

const closedBit = 1 << 40

func newPool(workers int) *pool {
	p := &pool{}
	p.cond = sync.NewCond(&p.sleepMu)
	for range workers {
		go p.work()
	}
	return p
}

func (p *pool) work() {
	seen := p.gen.Load()
	for {
		g := p.wait(seen)
		if p.stopped.Load() {
			return
		}
		seen = g
		j := p.job.Load()
		if j == nil || !j.enter() {
			continue
		}
		j.run()
		if j.state.Add(-1) == closedBit {
			close(j.done)
		}
	}
}

// wait returns the generation after seen, spinning for spinFor first.
func (p *pool) wait(seen uint64) uint64 {
	t0 := time.Now()
	for i := 0; ; i++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if i&63 == 63 && time.Since(t0) > spinFor {
			break
		}
	}
	p.sleepMu.Lock()
	defer p.sleepMu.Unlock()
	for p.gen.Load() == seen {
		p.cond.Wait()
	}
	return p.gen.Load()
}

// enter joins the job unless the caller already finished with it.
func (j *poolJob) enter() bool {
	for {
		s := j.state.Load()
		if s&closedBit != 0 {
			return false
		}
		if j.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// do runs run on the calling goroutine and on the idle workers, and
// returns when every call has returned. false: the pool is busy with
// another caller's job or stopped (the caller spawns goroutines instead).
func (p *pool) do(run func()) bool {
	if p == nil || !p.mu.TryLock() {
		return false
	}
	defer p.mu.Unlock()
	if p.stopped.Load() {
		return false
	}
	j := &poolJob{run: run, done: make(chan struct{})}
	p.job.Store(j)
	p.sleepMu.Lock()
	p.gen.Add(1)
	p.sleepMu.Unlock()
	p.cond.Broadcast()
	run()
	if j.state.Or(closedBit)&(closedBit-1) == 0 {
		p.job.Store(nil)
		return true // no worker inside, none can enter now
	}
	t0 := time.Now()
	for i := 0; j.state.Load() != closedBit; i++ {
		if i&63 == 63 && time.Since(t0) > spinFor {
			<-j.done
			break
		}
		runtime.Gosched()
	}
	p.job.Store(nil)
	return true
}

// stop ends the workers (idle ones at once, busy ones after their job).
func (p *pool) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped.Store(true)
	p.sleepMu.Lock()
	p.gen.Add(1)
	p.sleepMu.Unlock()
	p.cond.Broadcast()
}
