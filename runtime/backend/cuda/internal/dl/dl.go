// Package dl opens shared libraries and resolves symbols through purego
// (no cgo), and converts between Go strings and C strings for the CUDA
// binding packages.
package dl

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Library is one dlopen'ed shared library.
type Library struct {
	Path   string // the path or soname handed to dlopen
	handle uintptr
}

// Open dlopens path with RTLD_NOW|RTLD_GLOBAL (global so that a library
// loaded later, such as libnvrtc-builtins, can find its siblings).
func Open(path string) (*Library, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("dlopen %s: %w", path, err)
	}
	return &Library{Path: path, handle: h}, nil
}

// Close releases the library handle. Symbols resolved from it must not be
// called afterwards.
func (l *Library) Close() error {
	if l == nil || l.handle == 0 {
		return nil
	}
	err := purego.Dlclose(l.handle)
	l.handle = 0
	if err != nil {
		return fmt.Errorf("dlclose %s: %w", l.Path, err)
	}
	return nil
}

// Sym returns the address of the first of names that the library exports
// (callers list versioned names such as cuMemAlloc_v2 before fallbacks).
func (l *Library) Sym(names ...string) (uintptr, error) {
	if l == nil || l.handle == 0 {
		return 0, errors.New("dl: library not open")
	}
	for _, n := range names {
		if p, err := purego.Dlsym(l.handle, n); err == nil && p != 0 {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%s: symbol %v not found", l.Path, names)
}

// Binding names one function pointer to resolve: Ptr receives the address
// of the first symbol in Names that exists. Optional bindings may be
// missing (Ptr stays 0).
type Binding struct {
	Ptr      *uintptr
	Names    []string
	Optional bool
}

// Bind resolves every binding and reports all missing required symbols in
// one error.
func (l *Library) Bind(bs []Binding) error {
	var missing []string
	for _, b := range bs {
		p, err := l.Sym(b.Names...)
		if err != nil {
			if !b.Optional {
				missing = append(missing, b.Names[0])
			}
			continue
		}
		*b.Ptr = p
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing symbols %v", l.Path, missing)
	}
	return nil
}

// CString returns s as a NUL-terminated byte slice. Pass &b[0] to C and
// keep b alive (runtime.KeepAlive) until the call returns.
func CString(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// GoString copies the NUL-terminated C string at p (nil gives "").
// At most max bytes are read, so a missing terminator cannot run away.
func GoString(p *byte, max int) string {
	if p == nil {
		return ""
	}
	n := 0
	for n < max && *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// CStrings holds an array of C strings (char**) whose storage is pinned for
// the duration of a call, as the pointer-passing rules require.
type CStrings struct {
	bufs   [][]byte
	ptrs   []*byte
	pinner runtime.Pinner
}

// NewCStrings pins copies of ss and an array of pointers to them.
// Call Free when the C call has returned.
func NewCStrings(ss []string) *CStrings {
	c := &CStrings{}
	for _, s := range ss {
		b := CString(s)
		c.pinner.Pin(&b[0])
		c.bufs = append(c.bufs, b)
		c.ptrs = append(c.ptrs, &b[0])
	}
	if len(c.ptrs) > 0 {
		c.pinner.Pin(&c.ptrs[0])
	}
	return c
}

// Ptr is the char** to pass (0 when empty).
func (c *CStrings) Ptr() uintptr {
	if len(c.ptrs) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&c.ptrs[0]))
}

// Len is the number of strings.
func (c *CStrings) Len() int { return len(c.ptrs) }

// Free unpins the storage.
func (c *CStrings) Free() { c.pinner.Unpin() }
