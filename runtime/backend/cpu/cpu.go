// Package cpu is the pure-Go reference implementation of backend.Backend:
// float32 everywhere, no cgo, no assembly, all cores through goroutines.
// Its results define the semantics other backends are checked against.
package cpu

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
)

// Backend is the CPU backend. The zero value is not usable; call New.
type Backend struct {
	threads int
	pool    *pool      // threads−1 workers; nil with one thread
	rope    ropeTables // cos/sin per position, shared by every RoPE call
	bf16    bool       // stored-format weights multiply on AMX tiles (SetBF16Matmul)
}

// New returns a CPU backend that uses up to threads goroutines per
// operation (0 or less: runtime.GOMAXPROCS(0)).
func New(threads int) *Backend {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	b := &Backend{threads: threads}
	if threads > 1 {
		b.pool = newPool(threads - 1)
		// A backend dropped without Close must not keep its workers.
		runtime.AddCleanup(b, (*pool).stop, b.pool)
	}
	return b
}

// Threads reports how many goroutines an operation may use.
func (b *Backend) Threads() int { return b.threads }

// tensor is the CPU tensor: a row-major float32 slice.
type tensor struct {
	rows, cols int
	data       []float32
}

func (t *tensor) Rows() int { return t.rows }
func (t *tensor) Cols() int { return t.cols }

// Data returns the row-major storage of a tensor created by a CPU backend,
// so callers that run on the CPU anyway (tests, tools) can avoid a copy.
// It returns nil for a tensor of another backend.
func Data(t backend.Tensor) []float32 {
	if ct, ok := t.(*tensor); ok {
		return ct.data
	}
	return nil
}

// Name implements backend.Backend.
func (b *Backend) Name() string { return "cpu" }

// Upload implements backend.Backend.
func (b *Backend) Upload(data []float32, rows, cols int) (backend.Tensor, error) {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		return nil, backend.ShapeError("upload", "%d values for [%d,%d]", len(data), rows, cols)
	}
	d := make([]float32, len(data))
	copy(d, data)
	return &tensor{rows: rows, cols: cols, data: d}, nil
}

// Wrap returns a tensor that uses data as its storage without copying.
// The caller must not modify data while the tensor is in use.
func (b *Backend) Wrap(data []float32, rows, cols int) (backend.Tensor, error) {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		return nil, backend.ShapeError("wrap", "%d values for [%d,%d]", len(data), rows, cols)
	}
	return &tensor{rows: rows, cols: cols, data: data}, nil
}

// Alloc implements backend.Backend.
func (b *Backend) Alloc(rows, cols int) (backend.Tensor, error) {
	if rows < 0 || cols < 0 {
		return nil, backend.ShapeError("alloc", "[%d,%d]", rows, cols)
	}
	return &tensor{rows: rows, cols: cols, data: make([]float32, rows*cols)}, nil
}

// Free implements backend.Backend. The garbage collector reclaims the
// memory; Free only drops the reference.
func (b *Backend) Free(t backend.Tensor) {
	switch ct := t.(type) {
	case *tensor:
		ct.data = nil
	case *wtensor:
		ct.raw, ct.dec = nil, nil
		if ct.amxFree != nil {
			ct.amxFree()
			ct.amx = nil
		}
	}
}

// Read implements backend.Backend.
func (b *Backend) Read(t backend.Tensor, dst []float32) error {
	ct, err := own("read", t)
	if err != nil {
		return err
	}
	if len(dst) != len(ct.data) {
		return backend.ShapeError("read", "dst holds %d values, tensor [%d,%d]", len(dst), ct.rows, ct.cols)
	}
	copy(dst, ct.data)
	return nil
}

// Close implements backend.Backend: it stops the worker goroutines
// (operations after Close start goroutines of their own).
func (b *Backend) Close() error {
	b.pool.stop()
	return nil
}

func own(op string, t backend.Tensor) (*tensor, error) {
	ct, ok := t.(*tensor)
	if !ok || ct == nil {
		return nil, fmt.Errorf("%w: %s: tensor %T is not a cpu tensor", backend.ErrShape, op, t)
	}
	if ct.data == nil && ct.rows*ct.cols != 0 {
		return nil, fmt.Errorf("%w: %s: tensor used after Free", backend.ErrShape, op)
	}
	return ct, nil
}

// parallel runs fn over [0,n) split into at most b.threads contiguous
// chunks of at least grain items. Small jobs run on the calling goroutine.
func (b *Backend) parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := min(b.threads, (n+grain-1)/grain)
	if chunks <= 1 {
		fn(0, n)
		return
	}
	per := (n + chunks - 1) / chunks
	b.parallelTasks((n+per-1)/per, func(c int) {
		fn(c*per, min((c+1)*per, n))
	})
}

// run calls work on the calling goroutine and on up to workers−1 others
// (the pool's, or fresh goroutines while the pool serves another caller)
// and returns when all calls have returned. work claims its tasks itself.
func (b *Backend) run(workers int, work func()) {
	workers = min(workers, b.threads)
	if workers <= 1 {
		work()
		return
	}
	if b.pool.do(work) {
		return
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// parallelTasksAhead is parallelTasks where each goroutine claims its next
// task before running the current one and tells fn: fn(i, next) runs task
// i, and next is the task the same goroutine runs after it (−1: none), so
// fn can prefetch next's data while it computes i.
func (b *Backend) parallelTasksAhead(n int, fn func(i, next int)) {
	var ctr atomic.Int64
	claim := func() int {
		if i := int(ctr.Add(1) - 1); i < n {
			return i
		}
		return -1
	}
	b.run(n, func() {
		for cur := claim(); cur >= 0; {
			next := claim()
			fn(cur, next)
			cur = next
		}
	})
}

// parallelTasks runs fn(i) for i in [0,n) on up to b.threads goroutines
// that take tasks one at a time (for uneven task sizes).
func (b *Backend) parallelTasks(n int, fn func(i int)) {
	var ctr atomic.Int64
	b.run(n, func() {
		for {
			i := int(ctr.Add(1) - 1)
			if i >= n {
				return
			}
			fn(i)
		}
	})
}
