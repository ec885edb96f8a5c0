package quant

import (
	"sync"
	"sync/atomic"
)

// allocated counts the bytes Alloc has handed out and not yet released.
var allocated atomic.Int64

// Allocated returns the bytes Alloc has handed out that are not released
// yet: the weights converted at load that a model holds, a number tests
// can assert (the resident set also counts pages of mapped files).
func Allocated() int64 { return allocated.Load() }

// counted accounts for heap bytes standing in for an anonymous mapping.
func counted(b []byte) ([]byte, func()) {
	allocated.Add(int64(len(b)))
	return b, once(func() { allocated.Add(-int64(len(b))) })
}

// once makes a release function safe to call twice.
func once(f func()) func() {
	var o sync.Once
	return func() { o.Do(f) }
}
