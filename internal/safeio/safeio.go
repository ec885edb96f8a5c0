// Package safeio reads files the program does not control (model files,
// files named on the command line) with hard limits: only regular files are
// read, never FIFOs, devices or directories, and never more than a cap per
// kind of file. A FIFO is refused without blocking: paths are opened
// non-blocking and checked before any read, and fs.FS names are checked with
// fs.Stat before they are opened.
package safeio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Caps on what is read from a model directory, by kind of file.
const (
	// MaxConfigBytes caps config.json, generation_config.json,
	// tokenizer_config.json and added_tokens.json.
	MaxConfigBytes = 1 << 20
	// MaxTokenizerBytes caps vocab.json, merges.txt and tokenizer.json
	// (Qwen2's are 2.7, 1.7 and 7 MB).
	MaxTokenizerBytes = 64 << 20
	// MaxIndexBytes caps model.safetensors.index.json (Dream 7B's is 25 kB).
	MaxIndexBytes = 16 << 20
)

// ErrNotRegular marks a path that is not a regular file (a FIFO, a device,
// a socket or a directory).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge marks a file over the size cap of its kind.
var ErrTooLarge = errors.New("file too large")

// checkInfo refuses what is not a regular file or is larger than limit.
func checkInfo(name string, fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, kind(fi.Mode()))
	}
	if limit >= 0 && fi.Size() > limit {
		return fmt.Errorf("%s: %w (%d bytes, limit %d)", name, ErrTooLarge, fi.Size(), limit)
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "mode " + m.String()
}

// OpenRegular opens path for reading if it is a regular file (symbolic
// links are followed) of at most limit bytes (limit < 0: no cap). It never
// blocks on a FIFO. The caller closes the file.
func OpenRegular(path string, limit int64) (*os.File, fs.FileInfo, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := checkInfo(path, fi, limit); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ReadFile reads path like os.ReadFile, refusing what is not a regular file
// and files over limit bytes. Errors name the path.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, fi, err := OpenRegular(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(path, f, fi.Size(), limit)
}

// ReadFS reads name from fsys like fs.ReadFile, refusing what is not a
// regular file and files over limit bytes. The name is checked with fs.Stat
// before it is opened, so a FIFO behind os.DirFS is refused, not waited on.
func ReadFS(fsys fs.FS, name string, limit int64) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := checkInfo(name, fi, limit); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkInfo(name, fi, limit); err != nil {
		return nil, err
	}
	return readAll(name, f, fi.Size(), limit)
}

// readAll reads r to its end, failing past limit bytes (the file may have
// grown since it was checked).
func readAll(name string, r io.Reader, size, limit int64) ([]byte, error) {
	if limit < 0 {
		limit = 1<<63 - 2
	}
	buf := make([]byte, 0, min(size, limit)+512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%s: %w (grew past %d bytes while read)", name, ErrTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
}
