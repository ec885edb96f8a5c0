//go:build !unix

package mmapfile

// Drop does nothing where Map reads the file into memory.
func Drop(b []byte) {}
