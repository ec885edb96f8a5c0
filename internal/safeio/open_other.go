//go:build !unix

package safeio

import "os"

// openNonBlocking opens path read-only; systems without Unix FIFOs have no
// open that blocks.
func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }
