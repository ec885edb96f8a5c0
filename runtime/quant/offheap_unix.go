//go:build unix

package quant

import "golang.org/x/sys/unix"

// Alloc returns n zeroed bytes outside the Go heap (an anonymous mapping)
// and the function that releases them. Weights converted at load live
// there: on the heap they would double the garbage collector's target
// (GOGC=100 lets garbage grow as large as the live heap), and the peak
// resident set with it.
func Alloc(n int) ([]byte, func()) {
	if n <= 0 {
		return nil, func() {}
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return counted(make([]byte, n))
	}
	allocated.Add(int64(n))
	return b, once(func() {
		unix.Munmap(b)
		allocated.Add(-int64(n))
	})
}
