package cpu

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestPoolRunsEveryTaskOnce checks the worker pool under callers that
// race for it (the losers spawn goroutines) and after Close: every task
// of every call runs exactly once and the call returns only after all.
func TestPoolRunsEveryTaskOnce(t *testing.T) {
	for _, tc := range []struct {
		threads, callers, tasks int
		close                   bool
	}{
		{1, 1, 7, false},
		{2, 1, 1, false},
		{2, 1, 100, false},
		{2, 3, 37, false},
		{4, 4, 5, false},
		{4, 2, 64, true},
	} {
		b := New(tc.threads)
		if tc.close {
			b.Close()
		}
		var wg sync.WaitGroup
		for c := range tc.callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for rep := range 200 {
					runs := make([]atomic.Int32, tc.tasks)
					switch rep % 3 {
					case 0:
						b.parallelTasks(tc.tasks, func(i int) { runs[i].Add(1) })
					case 1:
						b.parallelTasksAhead(tc.tasks, func(i, next int) {
							if next == i || next >= tc.tasks {
								t.Errorf("task %d: next %d", i, next)
							}
							runs[i].Add(1)
						})
					default:
						b.parallel(tc.tasks, 1, func(lo, hi int) {
							for i := lo; i < hi; i++ {
								runs[i].Add(1)
							}
						})
					}
					for i := range runs {
						if n := runs[i].Load(); n != 1 {
							t.Errorf("threads %d, caller %d, rep %d: task %d ran %d times", tc.threads, c, rep, i, n)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		b.Close()
	}
}
