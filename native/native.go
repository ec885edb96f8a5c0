// Package native holds the CUDA C kernels of the GPU backend, embedded in
// the binary and compiled at run time by NVRTC for the GPU found, plus the
// launch metadata read from the kernel signatures.
//
// Every kernel is declared
//
//	extern "C" __global__ void __launch_bounds__(N) name(params...)
//
// so its symbol is not mangled, its block size is known without compiling,
// and its parameter list can be parsed here (NVRTC-free) to pack launch
// arguments in the C ABI layout. Kernel files are .cu and headers .cuh:
// plain .c files would break CGO_ENABLED=0 builds. The sources include no
// CUDA toolkit headers, so NVRTC needs nothing beyond itself.
package native

import (
	"embed"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

//go:embed kernels/*.cu kernels/*.cuh
var files embed.FS

// FS returns the kernel sources: *.cu translation units and *.cuh headers
// at the root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "kernels")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Units lists the translation units (*.cu) in a stable order.
func Units() ([]string, error) {
	ents, err := fs.ReadDir(FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("native: list kernels: %w", err)
	}
	var out []string
	for _, e := range ents {
		if path.Ext(e.Name()) == ".cu" {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Headers returns every *.cuh file by name, for NVRTC's include list.
func Headers() (map[string]string, error) {
	ents, err := fs.ReadDir(FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("native: list kernels: %w", err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if path.Ext(e.Name()) != ".cuh" {
			continue
		}
		b, err := fs.ReadFile(FS(), e.Name())
		if err != nil {
			return nil, fmt.Errorf("native: read %s: %w", e.Name(), err)
		}
		out[e.Name()] = string(b)
	}
	return out, nil
}

// Kind is the C type class of one kernel parameter.
type Kind int

// Parameter kinds.
const (
	Ptr Kind = iota // any pointer: a device address (uint64)
	I32             // int, int32_t
	U32             // unsigned, uint32_t
	I64             // long long, int64_t
	U64             // unsigned long long, uint64_t
	F32             // float
)

var kindNames = [...]string{"ptr", "i32", "u32", "i64", "u64", "f32"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Size is the parameter's size (and alignment) in bytes.
func (k Kind) Size() int {
	switch k {
	case I32, U32, F32:
		return 4
	default:
		return 8
	}
}

// Param is one kernel parameter.
type Param struct {
	Name string
	Type string // the C type as written, qualifiers removed
	Kind Kind
}

// Kernel is the launch metadata of one extern "C" kernel.
type Kernel struct {
	Name       string
	Unit       string // the .cu file that defines it
	MaxThreads int    // __launch_bounds__ value: the block size to launch with
	Params     []Param
}

var kernelRE = regexp.MustCompile(`extern\s+"C"\s+__global__\s+void\s+__launch_bounds__\s*\(\s*(\d+)\s*(?:,\s*\d+\s*)?\)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)`)

// Parse extracts the kernels declared in one translation unit. A kernel
// without __launch_bounds__ is an error: every launch needs a block size.
func Parse(unit string, src []byte) ([]Kernel, error) {
	text := stripComments(string(src))
	var out []Kernel
	for _, m := range kernelRE.FindAllStringSubmatch(text, -1) {
		threads, err := strconv.Atoi(m[1])
		if err != nil || threads <= 0 || threads > 1024 {
			return nil, fmt.Errorf("native: %s: kernel %s: bad __launch_bounds__ %q", unit, m[2], m[1])
		}
		k := Kernel{Name: m[2], Unit: unit, MaxThreads: threads}
		params := strings.TrimSpace(m[3])
		if params != "" && params != "void" {
			for _, p := range strings.Split(params, ",") {
				prm, err := parseParam(p)
				if err != nil {
					return nil, fmt.Errorf("native: %s: kernel %s: %w", unit, k.Name, err)
				}
				k.Params = append(k.Params, prm)
			}
		}
		out = append(out, k)
	}
	// Every extern "C" __global__ must have matched: count them.
	if n := strings.Count(text, `extern "C" __global__`); n != len(out) {
		return nil, fmt.Errorf("native: %s: %d extern \"C\" __global__ kernels but %d parsed (each needs __launch_bounds__(N) before its name)", unit, n, len(out))
	}
	return out, nil
}

func parseParam(p string) (Param, error) {
	fields := strings.Fields(strings.NewReplacer("*", " * ").Replace(p))
	var typ []string
	ptr := false
	for _, f := range fields {
		switch f {
		case "const", "volatile", "__restrict__", "__restrict", "restrict":
		case "*":
			ptr = true
		default:
			typ = append(typ, f)
		}
	}
	if len(typ) < 2 {
		return Param{}, fmt.Errorf("parameter %q: want a type and a name", strings.TrimSpace(p))
	}
	name := typ[len(typ)-1]
	base := strings.Join(typ[:len(typ)-1], " ")
	prm := Param{Name: name, Type: base}
	if ptr {
		prm.Kind = Ptr
		prm.Type += "*"
		return prm, nil
	}
	switch base {
	case "int", "int32_t", "signed", "signed int":
		prm.Kind = I32
	case "unsigned", "unsigned int", "uint32_t":
		prm.Kind = U32
	case "long long", "long long int", "int64_t", "long":
		prm.Kind = I64
	case "unsigned long long", "unsigned long long int", "uint64_t", "size_t", "unsigned long":
		prm.Kind = U64
	case "float":
		prm.Kind = F32
	default:
		return Param{}, fmt.Errorf("parameter %s: unsupported type %q", name, base)
	}
	return prm, nil
}

func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "//"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return b.String()
			}
			i += j
		case strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return b.String()
			}
			b.WriteByte(' ')
			i += j + 4
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// Kernels parses every embedded unit and returns the kernels by name.
// Duplicate names across units are an error.
func Kernels() (map[string]Kernel, error) {
	units, err := Units()
	if err != nil {
		return nil, err
	}
	out := map[string]Kernel{}
	for _, u := range units {
		src, err := fs.ReadFile(FS(), u)
		if err != nil {
			return nil, fmt.Errorf("native: read %s: %w", u, err)
		}
		ks, err := Parse(u, src)
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			if prev, dup := out[k.Name]; dup {
				return nil, fmt.Errorf("native: kernel %s defined in %s and %s", k.Name, prev.Unit, u)
			}
			out[k.Name] = k
		}
	}
	return out, nil
}

// ArgsSize is the size of the packed parameter block in bytes: the end of
// the last parameter, with no padding after it. That is the kernel's own
// parameter-bank size (EIATTR_CBANK_PARAM_SIZE in the CUBIN), and the driver
// checks CU_LAUNCH_PARAM_BUFFER_SIZE against it: CUDA 13 on an H200 refused
// every kernel whose block was padded to 8 bytes (36 -> 40) with
// CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES.
func (k Kernel) ArgsSize() int {
	off := 0 // as Offsets, without allocating: Pack runs on every launch
	for _, p := range k.Params {
		s := p.Kind.Size()
		off = (off+s-1)/s*s + s
	}
	return off
}

// Offsets gives each parameter's byte offset in the packed block: the C
// layout, each parameter aligned to its own size.
func (k Kernel) Offsets() []int {
	offs := make([]int, len(k.Params))
	off := 0
	for i, p := range k.Params {
		s := p.Kind.Size()
		off = (off + s - 1) / s * s
		offs[i] = off
		off += s
	}
	return offs
}

// Pack writes args into dst in the C layout of the kernel's parameter list
// (each parameter aligned to its size) and returns the number of bytes
// used. Accepted Go values: Ptr takes uint64 or uintptr (a device address);
// I32 takes int or int32; U32 uint32 or int (non-negative); I64 int or
// int64; U64 uint64 or int (non-negative); F32 float32 or float64.
func (k Kernel) Pack(dst []byte, args ...any) (int, error) {
	if len(args) != len(k.Params) {
		return 0, fmt.Errorf("native: kernel %s takes %d arguments, got %d", k.Name, len(k.Params), len(args))
	}
	size := k.ArgsSize()
	if len(dst) < size {
		return 0, fmt.Errorf("native: kernel %s: argument buffer of %d bytes, need %d", k.Name, len(dst), size)
	}
	clear(dst[:size])
	off := 0
	le := binary.LittleEndian
	for i, p := range k.Params {
		s := p.Kind.Size()
		off = (off + s - 1) / s * s
		bad := func() error {
			return fmt.Errorf("native: kernel %s: argument %d (%s %s): cannot use %T", k.Name, i, p.Kind, p.Name, args[i])
		}
		switch p.Kind {
		case Ptr, U64:
			var v uint64
			switch a := args[i].(type) {
			case uint64:
				v = a
			case uintptr:
				v = uint64(a)
			case int:
				if a < 0 || p.Kind == Ptr && a != 0 {
					return 0, bad()
				}
				v = uint64(a)
			default:
				if pv, ok := devicePtr(a); ok && p.Kind == Ptr {
					v = pv
					break
				}
				return 0, bad()
			}
			le.PutUint64(dst[off:], v)
		case I64:
			var v int64
			switch a := args[i].(type) {
			case int:
				v = int64(a)
			case int64:
				v = a
			default:
				return 0, bad()
			}
			le.PutUint64(dst[off:], uint64(v))
		case I32:
			var v int64
			switch a := args[i].(type) {
			case int:
				v = int64(a)
			case int32:
				v = int64(a)
			default:
				return 0, bad()
			}
			if v < math.MinInt32 || v > math.MaxInt32 {
				return 0, fmt.Errorf("native: kernel %s: argument %d (%s): %d overflows int32", k.Name, i, p.Name, v)
			}
			le.PutUint32(dst[off:], uint32(int32(v)))
		case U32:
			var v int64
			switch a := args[i].(type) {
			case uint32:
				v = int64(a)
			case int:
				v = int64(a)
			default:
				return 0, bad()
			}
			if v < 0 || v > math.MaxUint32 {
				return 0, fmt.Errorf("native: kernel %s: argument %d (%s): %d overflows uint32", k.Name, i, p.Name, v)
			}
			le.PutUint32(dst[off:], uint32(v))
		case F32:
			var v float32
			switch a := args[i].(type) {
			case float32:
				v = a
			case float64:
				v = float32(a)
			default:
				return 0, bad()
			}
			le.PutUint32(dst[off:], math.Float32bits(v))
		}
		off += s
	}
	return size, nil
}

// DevicePointer is implemented by device buffers so they can be passed to
// Pack directly.
type DevicePointer interface {
	DevicePtr() uint64
}

func devicePtr(a any) (uint64, bool) {
	if d, ok := a.(DevicePointer); ok {
		return d.DevicePtr(), true
	}
	return 0, false
}
