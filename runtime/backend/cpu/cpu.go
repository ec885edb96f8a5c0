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
	rope    ropeTables // cos/sin per position, shared by every RoPE call
}

// New returns a CPU backend that uses up to threads goroutines per
// operation (0 or less: runtime.GOMAXPROCS(0)).
func New(threads int) *Backend {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Backend{threads: threads}
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
		ct.raw = nil
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

// Close implements backend.Backend.
func (b *Backend) Close() error { return nil }

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
	var wg sync.WaitGroup
	per := (n + chunks - 1) / chunks
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// parallelTasksAhead is parallelTasks where each goroutine claims its next
// task before running the current one and tells fn: fn(i, next) runs task
// i, and next is the task the same goroutine runs after it (−1: none), so
// fn can prefetch next's data while it computes i.
func (b *Backend) parallelTasksAhead(n int, fn func(i, next int)) {
	workers := min(b.threads, n)
	if workers <= 1 {
		for i := range n {
			next := i + 1
			if next >= n {
				next = -1
			}
			fn(i, next)
		}
		return
	}
	var (
		ctr atomic.Int64
		wg  sync.WaitGroup
	)
	claim := func() int {
		if i := int(ctr.Add(1) - 1); i < n {
			return i
		}
		return -1
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cur := claim(); cur >= 0; {
				next := claim()
				fn(cur, next)
				cur = next
			}
		}()
	}
	wg.Wait()
}

// parallelTasks runs fn(i) for i in [0,n) on up to b.threads goroutines
// that take tasks one at a time (for uneven task sizes).
func (b *Backend) parallelTasks(n int, fn func(i int)) {
	workers := min(b.threads, n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
