//go:build !unix

package quant

// Alloc returns n zeroed bytes (on the heap where mmap is not available)
// and a release function.
func Alloc(n int) ([]byte, func()) {
	if n <= 0 {
		return nil, func() {}
	}
	return counted(make([]byte, n))
}
