//go:build unix

package mmapfile

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Drop takes the pages of b, a slice of a mapping Map returned, out of
// the resident set (madvise MADV_DONTNEED): a loader that has copied or
// converted a tensor calls it so the file's pages and the converted copy
// are not resident at once. The file is read again if b is touched
// later, so it is safe on a mapping still in use; only pages wholly
// inside b are dropped. Never call it on other memory: anonymous pages
// (the Go heap) would read back as zeros.
func Drop(b []byte) {
	if len(b) == 0 {
		return
	}
	ps := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(&b[0]))
	lo := (start + ps - 1) &^ (ps - 1)
	hi := (start + uintptr(len(b))) &^ (ps - 1)
	if hi <= lo {
		return
	}
	unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&b[0]), lo-start)), hi-lo), unix.MADV_DONTNEED)
}
