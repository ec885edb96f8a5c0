package safeio

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.json")
	if err := os.WriteFile(small, []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 2000)), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if runtime.GOOS != "windows" {
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, path string
		limit      int64
		want       string
		err        error
	}{
		{"regular", small, 100, `{"a":1}`, nil},
		{"symlink to regular", link, 100, `{"a":1}`, nil},
		{"at the cap", big, 2000, strings.Repeat("x", 2000), nil},
		{"over the cap", big, 1999, "", ErrTooLarge},
		{"directory", dir, 100, "", ErrNotRegular},
		{"fifo", fifo, 100, "", ErrNotRegular},
		{"char device", "/dev/zero", 100, "", ErrNotRegular},
		{"missing", filepath.Join(dir, "nope"), 100, "", os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && (tc.path == fifo || strings.HasPrefix(tc.path, "/dev/")) {
				t.Skip("no FIFOs or /dev on windows")
			}
			done := make(chan struct{})
			var got []byte
			var err error
			go func() {
				got, err = ReadFile(tc.path, tc.limit)
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("ReadFile blocked")
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), filepath.Base(tc.path)) {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestReadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"config.json": {Data: []byte(`{}`)},
		"big.txt":     {Data: make([]byte, 100)},
		"sub":         {Mode: os.ModeDir},
		"pipe":        {Mode: os.ModeNamedPipe},
	}
	if b, err := ReadFS(fsys, "config.json", 10); err != nil || string(b) != "{}" {
		t.Fatalf("config.json: %q %v", b, err)
	}
	for name, want := range map[string]error{"big.txt": ErrTooLarge, "sub": ErrNotRegular, "pipe": ErrNotRegular} {
		if _, err := ReadFS(fsys, name, 99); !errors.Is(err, want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want %v naming the file", name, err, want)
		}
	}
	if runtime.GOOS == "windows" {
		return
	}
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "vocab.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadFS(os.DirFS(dir), "vocab.json", 100)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("FIFO via os.DirFS: err = %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFS blocked on a FIFO")
	}
}
