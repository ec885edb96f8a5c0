//go:build linux && amd64 && !purego

package cpu

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// requestAMX asks Linux for the AMX tile data state (arch_prctl
// ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), which a process must hold
// before its first tile instruction; without it the instruction faults.
// The permission is per process and stays for its life.
func requestAMX() bool {
	const archReqXcompPerm, xfeatureXTileData = 0x1023, 18
	_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0)
	return errno == 0
}

// releasePages asks the kernel to reclaim the whole pages inside b now
// (MADV_PAGEOUT): a weight's stored bytes once amxPacked has copied them.
// Pages of a mapped checkpoint leave the resident set and would be read
// back from the file if touched again; anonymous pages stay unless there
// is swap. It is a hint: nothing is lost either way.
func releasePages(b []byte) { advisePages(b, unix.MADV_PAGEOUT) }

// discardPages hands the whole pages inside b back to the kernel now
// (MADV_DONTNEED): a disposable weight's converted bytes once amxPacked
// holds them losslessly. Anonymous pages read back as zeros afterwards,
// so nothing may read b again.
func discardPages(b []byte) { advisePages(b, unix.MADV_DONTNEED) }

// advisePages gives the kernel advice about the whole pages inside b
// (none when b holds no whole page).
func advisePages(b []byte, advice int) {
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := (start + page - 1) &^ (page - 1)
	end := (start + uintptr(len(b))) &^ (page - 1)
	if len(b) == 0 || end <= first {
		return
	}
	unix.Madvise(b[first-start:end-start], advice)
}
