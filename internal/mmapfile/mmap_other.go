//go:build !unix

package mmapfile

import (
	"io"
	"os"
)

// Map reads f into memory where mmap is not available.
func Map(f *os.File, size int64) ([]byte, func() error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
