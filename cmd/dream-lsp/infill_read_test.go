//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInfillRefusesHostileInputs runs `dream-lsp infill` on inputs that are
// not sane source files and expects a prompt usage error (exit 2) that says
// why, before any model is loaded: never a hang on a FIFO, never a read of
// /dev/zero until memory runs out.
func TestInfillRefusesHostileInputs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.go")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.go")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(defaultMaxInfillBytes + 1); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	small := filepath.Join(dir, "small.go")
	if err := os.WriteFile(small, []byte("package p\n\nfunc f() {\n\t<|cursor|>\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"fifo", []string{fifo}, "named pipe"},
		{"fifo with position", []string{fifo + ":1:1"}, "named pipe"},
		{"dev zero", []string{"/dev/zero:1:1"}, "character device"},
		{"dev zero marker form", []string{"/dev/zero"}, "character device"},
		{"directory", []string{dir}, "a directory"},
		{"directory with position", []string{dir + ":1:1"}, "a directory"},
		{"over the default cap", []string{big + ":1:1"}, "--max-file-bytes"},
		{"over a lowered cap", []string{"--max-file-bytes", "10", small}, "file too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- mainExit(append([]string{"infill"}, tc.args...), &stdout, &stderr) }()
			select {
			case code := <-done:
				if code != 2 {
					t.Errorf("exit %d, want 2; stderr: %s", code, stderr.String())
				}
				if !strings.Contains(stderr.String(), tc.want) {
					t.Errorf("stderr %q does not say %q", stderr.String(), tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("infill hung")
			}
		})
	}
}
