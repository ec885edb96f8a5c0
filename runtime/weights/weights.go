// Package weights reads safetensors checkpoints: one model.safetensors, or
// a model.safetensors.index.json with its shards, memory-mapped from a
// directory (a Hugging Face cache snapshot works) or read from an fs.FS.
//
// Every header is validated before any tensor is touched: offsets within
// the file and not overlapping, sizes matching dtype×shape, only BF16, F16
// and F32, every index entry present in the shard it names. Malformed input
// gives an error that matches ErrCorrupt and names the file and tensor; it
// never panics. The package knows nothing about Dream; the model package
// checks tensor names and shapes against a config.
package weights

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/dream-lsp/dream-lsp/internal/mmapfile"
	"github.com/dream-lsp/dream-lsp/internal/safeio"
)

// File names of a Hugging Face checkpoint.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// Tensor describes one stored tensor. Its data stays in the checkpoint;
// read it with Checkpoint.Float32 or Checkpoint.Raw.
type Tensor struct {
	Name   string
	DType  DType
	Shape  []int
	File   string // shard file name, relative to the checkpoint directory
	Offset int64  // byte offset of the data in File
	Size   int64  // bytes of data

	data   []byte // the stored bytes (a slice of the mapped file)
	begin  uint64 // offset within the data section
	mapped bool   // data is a file mapping (Open), not memory (OpenFS)
}

// NumElements returns the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// String returns "name DTYPE[shape] (file)".
func (t *Tensor) String() string {
	return fmt.Sprintf("%s %s%v (%s)", t.Name, t.DType, t.Shape, t.File)
}

// shard is one opened safetensors file.
type shard struct {
	name    string // as named in the index (or SingleFile)
	path    string // for messages
	data    []byte
	release func() error
	meta    map[string]string
	mapped  bool // data is a file mapping: its pages can be dropped
}

// Checkpoint is an opened set of safetensors files. Its methods may be
// called concurrently; Close must not race with them.
type Checkpoint struct {
	dir     string
	shards  []*shard
	tensors []*Tensor
	byName  map[string]*Tensor
	index   *Index // nil for a single file

	mu     sync.Mutex
	closed bool
}

// source abstracts a directory on disk (mmap) and an fs.FS (read into
// memory).
type source interface {
	readFile(name string) ([]byte, error)
	openShard(name string) (*shard, error)
	path(name string) string
}

type dirSource struct{ dir string }

func (s dirSource) path(name string) string { return filepath.Join(s.dir, name) }

func (s dirSource) readFile(name string) ([]byte, error) {
	return safeio.ReadFile(s.path(name), safeio.MaxIndexBytes)
}

func (s dirSource) openShard(name string) (*shard, error) {
	p := s.path(name)
	// Opened without blocking and refused unless a regular file: a FIFO
	// or a device named as a shard must not hang or flood the loader.
	f, fi, err := safeio.OpenRegular(p, -1)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, release, err := mmapfile.Map(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", p, err)
	}
	return &shard{name: name, path: p, data: data, release: release, mapped: true}, nil
}

type fsSource struct{ fsys fs.FS }

func (s fsSource) path(name string) string { return name }

func (s fsSource) readFile(name string) ([]byte, error) {
	return safeio.ReadFS(s.fsys, name, safeio.MaxIndexBytes)
}

func (s fsSource) openShard(name string) (*shard, error) {
	data, err := safeio.ReadFS(s.fsys, name, -1)
	if err != nil {
		return nil, err
	}
	return &shard{name: name, path: name, data: data, release: func() error { return nil }}, nil
}

// ResolveDir returns the directory holding the checkpoint files for dir:
// dir itself, or for the root of a Hugging Face cache repository
// (models--org--name, with refs/main and snapshots/) the snapshot that
// refs/main points at.
func ResolveDir(dir string) string {
	if exists(filepath.Join(dir, IndexFile)) || exists(filepath.Join(dir, SingleFile)) {
		return dir
	}
	ref, err := safeio.ReadFile(filepath.Join(dir, "refs", "main"), 4096)
	if err != nil {
		return dir
	}
	rev := strings.TrimSpace(string(ref))
	if rev == "" || strings.ContainsAny(rev, `/\`) || rev == "." || rev == ".." {
		return dir
	}
	snap := filepath.Join(dir, "snapshots", rev)
	if exists(snap) {
		return snap
	}
	return dir
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Open opens the checkpoint in dir: model.safetensors.index.json and the
// shards it names when the index exists, else model.safetensors. Files are
// memory-mapped read-only. dir may be a Hugging Face cache snapshot or the
// cache repository root (see ResolveDir).
func Open(dir string) (*Checkpoint, error) {
	dir = ResolveDir(dir)
	c, err := open(dirSource{dir}, dir)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// OpenFS opens the same layout as Open from the root of fsys, reading the
// files into memory (for an embedded model).
func OpenFS(fsys fs.FS) (*Checkpoint, error) {
	return open(fsSource{fsys}, ".")
}

func open(src source, dir string) (*Checkpoint, error) {
	c := &Checkpoint{dir: dir, byName: map[string]*Tensor{}}
	idxData, err := src.readFile(IndexFile)
	switch {
	case err == nil:
		ix, err := ParseIndex(src.path(IndexFile), idxData)
		if err != nil {
			return nil, err
		}
		c.index = ix
		if err := c.openShards(src, ix.Shards()); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.checkIndex(src); err != nil {
			c.Close()
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := c.openShards(src, []string{SingleFile}); err != nil {
			c.Close()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("weights: no %s or %s in %s: %w", SingleFile, IndexFile, dir, fs.ErrNotExist)
			}
			return nil, err
		}
	default:
		return nil, fmt.Errorf("weights: read %s: %w", src.path(IndexFile), err)
	}
	sort.Slice(c.tensors, func(i, j int) bool { return c.tensors[i].Name < c.tensors[j].Name })
	return c, nil
}

// openShards opens and validates every named shard. A missing shard is
// reported by name (all missing shards are listed).
func (c *Checkpoint) openShards(src source, names []string) error {
	var missing []string
	var firstMissing error
	for _, name := range names {
		sh, err := src.openShard(name)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, name)
			if firstMissing == nil {
				firstMissing = err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("weights: open %s: %w", src.path(name), err)
		}
		c.shards = append(c.shards, sh)
		ts, meta, err := parseSafetensors(sh.path, sh.data)
		if err != nil {
			return err
		}
		sh.meta = meta
		for _, t := range ts {
			t.File = name
			t.mapped = sh.mapped
			if prev, dup := c.byName[t.Name]; dup {
				return corrupt(sh.path, t.Name, "tensor also stored in %s", prev.File)
			}
			c.byName[t.Name] = t
			c.tensors = append(c.tensors, t)
		}
	}
	if len(missing) > 0 {
		if c.index == nil {
			return fmt.Errorf("weights: open %s: %w", src.path(missing[0]), firstMissing)
		}
		reason := fmt.Sprintf("shard named by %s is missing", IndexFile)
		if len(missing) > 1 {
			reason += fmt.Sprintf(" (also missing: %s)", strings.Join(missing[1:], ", "))
		}
		return &CorruptError{File: src.path(missing[0]), Reason: reason, Err: firstMissing}
	}
	return nil
}

// checkIndex cross-checks the index against the opened shards.
func (c *Checkpoint) checkIndex(src source) error {
	for _, name := range c.index.Names() {
		file := c.index.WeightMap[name]
		t, ok := c.byName[name]
		if !ok {
			return corrupt(src.path(file), name, "listed in %s but not stored in the shard", IndexFile)
		}
		if t.File != file {
			return corrupt(src.path(t.File), name, "stored here but %s puts it in %s", IndexFile, file)
		}
	}
	for _, t := range c.tensors {
		if _, ok := c.index.WeightMap[t.Name]; !ok {
			return corrupt(src.path(t.File), t.Name, "stored in the shard but not listed in %s", IndexFile)
		}
	}
	return nil
}

// Dir returns the directory the checkpoint was opened from ("." for an
// fs.FS).
func (c *Checkpoint) Dir() string { return c.dir }

// Files returns the names of the opened safetensors files.
func (c *Checkpoint) Files() []string {
	out := make([]string, len(c.shards))
	for i, s := range c.shards {
		out[i] = s.name
	}
	return out
}

// Index returns the parsed model.safetensors.index.json, or nil for a
// single-file checkpoint.
func (c *Checkpoint) Index() *Index { return c.index }

// Metadata returns the __metadata__ of the named file (nil when it has
// none).
func (c *Checkpoint) Metadata(file string) map[string]string {
	for _, s := range c.shards {
		if s.name == file {
			return s.meta
		}
	}
	return nil
}

// Tensors returns every tensor, sorted by name. The slice is shared; do not
// modify it.
func (c *Checkpoint) Tensors() []*Tensor { return c.tensors }

// Tensor returns the named tensor.
func (c *Checkpoint) Tensor(name string) (*Tensor, bool) {
	t, ok := c.byName[name]
	return t, ok
}

// TotalBytes returns the sum of the tensors' data sizes.
func (c *Checkpoint) TotalBytes() int64 {
	var n int64
	for _, t := range c.tensors {
		n += t.Size
	}
	return n
}

// ErrClosed is returned by reads after Close.
var ErrClosed = errors.New("weights: checkpoint is closed")

func (c *Checkpoint) lookup(name string) (*Tensor, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("read tensor %q: %w", name, ErrClosed)
	}
	t, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("weights: %s: no tensor %q: %w", c.dir, name, fs.ErrNotExist)
	}
	return t, nil
}

// Raw returns the named tensor's bytes as stored (little-endian). The slice
// aliases the mapped file: it must not be modified and is valid until
// Close.
func (c *Checkpoint) Raw(name string) ([]byte, error) {
	t, err := c.lookup(name)
	if err != nil {
		return nil, err
	}
	return t.data, nil
}

// Float32 returns a float32 copy of the named tensor, converted from BF16,
// F16 or F32. The tensor's file pages then leave the resident set (see
// Release): a load that copies every weight never holds the file and the
// copies at once.
func (c *Checkpoint) Float32(name string) ([]float32, error) {
	t, err := c.lookup(name)
	if err != nil {
		return nil, err
	}
	dst := make([]float32, t.NumElements())
	if err := convert(t, dst); err != nil {
		return nil, err
	}
	t.release()
	return dst, nil
}

// Float32Into converts the named tensor into dst, which must have exactly
// NumElements elements.
func (c *Checkpoint) Float32Into(name string, dst []float32) error {
	t, err := c.lookup(name)
	if err != nil {
		return err
	}
	if len(dst) != t.NumElements() {
		return fmt.Errorf("weights: %s: tensor %q has %d elements, destination holds %d", t.File, name, t.NumElements(), len(dst))
	}
	if err := convert(t, dst); err != nil {
		return err
	}
	t.release()
	return nil
}

// Release takes the named tensor's pages of a mapped file out of the
// process's resident set, for a loader that has converted the tensor and
// no longer needs its stored bytes. It changes no data: Raw's bytes stay
// valid and are read from the file again if touched. It does nothing for
// a checkpoint read into memory (OpenFS) or after Close.
func (c *Checkpoint) Release(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.byName[name]; ok && !c.closed {
		t.release()
	}
}

func (t *Tensor) release() {
	if t.mapped {
		mmapfile.Drop(t.data)
	}
}

// parallelMin is the element count above which conversion is split over
// the available cores.
const parallelMin = 1 << 20

func convert(t *Tensor, dst []float32) error {
	size := t.DType.Size()
	if size == 0 || len(t.data) != size*len(dst) {
		return corrupt(t.File, t.Name, "%d bytes of %s do not hold %d elements", len(t.data), t.DType, len(dst))
	}
	workers := runtime.GOMAXPROCS(0)
	if len(dst) < parallelMin || workers < 2 {
		DecodeFloat32(t.DType, t.data, dst)
		return nil
	}
	chunk := (len(dst) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(dst); lo += chunk {
		hi := min(lo+chunk, len(dst))
		wg.Go(func() { DecodeFloat32(t.DType, t.data[lo*size:hi*size], dst[lo:hi]) })
	}
	wg.Wait()
	return nil
}

// Close unmaps the files. Slices returned by Raw become invalid.
func (c *Checkpoint) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, s := range c.shards {
		if s.release != nil {
			if err := s.release(); err != nil {
				errs = append(errs, fmt.Errorf("weights: unmap %s: %w", s.path, err))
			}
		}
		s.data = nil
	}
	for _, t := range c.tensors {
		t.data = nil
	}
	return errors.Join(errs...)
}
