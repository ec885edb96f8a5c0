//go:build unix

package tokenizer

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used, to
// report benchmark figures that hold up on a machine shared with other
// work.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
