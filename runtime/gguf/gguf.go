// Package gguf reads GGUF files (ggml's single-file model format, version
// 2 and 3) and maps Dream-architecture files, as llama.cpp's converter
// writes them, onto the runtime: config, weights (F32, F16, BF16, Q8_0,
// and Q4_K, Q6_K and Q5_0, the types of a Q4_K_M file, used in place
// from the memory-mapped file) and the embedded BPE tokenizer.
//
// The whole header is validated before any tensor is used, as strictly as
// the safetensors reader: magic and version, every length and count
// against the bytes left, value and tensor types, dimensions, the
// alignment, every tensor's offset (aligned, inside the data section,
// not overlapping another). A malformed file gives an error matching
// ErrCorrupt that names the file and, where there is one, the key or
// tensor; it never panics.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"unicode/utf8"
)

// Magic is the first four bytes of a GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is ggml's largest tensor rank.
const MaxDims = 4

// ErrCorrupt marks every error caused by a malformed GGUF file.
var ErrCorrupt = errors.New("gguf: corrupt file")

// ErrUnsupported marks a well-formed file or tensor this runtime does not
// read (another architecture, a quantization type without a kernel).
var ErrUnsupported = errors.New("gguf: unsupported")

// CorruptError describes one corruption; it matches ErrCorrupt.
type CorruptError struct {
	File   string
	What   string // key or tensor name, "" when about the file
	Reason string
}

func (e *CorruptError) Error() string {
	msg := "gguf: corrupt file: " + e.File
	if e.What != "" {
		msg += fmt.Sprintf(": %q", e.What)
	}
	return msg + ": " + e.Reason
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corrupt(file, what, format string, args ...any) error {
	return &CorruptError{File: file, What: what, Reason: fmt.Sprintf(format, args...)}
}

// ValueType is a GGUF metadata value type.
type ValueType uint32

// The metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

// scalarSize returns the byte size of a fixed-size value type (0 for
// strings, arrays and unknown types).
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is one metadata value. Scalars are held as int64, uint64, float64,
// bool or string; arrays as []Value, except arrays of strings ([]string)
// and of integers ([]int64), the tokenizer's large arrays.
type Value struct {
	Type ValueType
	Elem ValueType // element type of an array
	V    any
}

// Int returns an integer value (any integer type) as int64.
func (v Value) Int() (int64, bool) {
	switch x := v.V.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// Float returns a float or integer value as float64.
func (v Value) Float() (float64, bool) {
	if f, ok := v.V.(float64); ok {
		return f, true
	}
	if i, ok := v.Int(); ok {
		return float64(i), true
	}
	return 0, false
}

// GGMLType is a tensor element type.
type GGMLType uint32

// The tensor types this package knows the block layout of.
const (
	GGMLF32     GGMLType = 0
	GGMLF16     GGMLType = 1
	GGMLQ4_0    GGMLType = 2
	GGMLQ4_1    GGMLType = 3
	GGMLQ5_0    GGMLType = 6
	GGMLQ5_1    GGMLType = 7
	GGMLQ8_0    GGMLType = 8
	GGMLQ8_1    GGMLType = 9
	GGMLQ2_K    GGMLType = 10
	GGMLQ3_K    GGMLType = 11
	GGMLQ4_K    GGMLType = 12
	GGMLQ5_K    GGMLType = 13
	GGMLQ6_K    GGMLType = 14
	GGMLQ8_K    GGMLType = 15
	GGMLIQ2_XXS GGMLType = 16
	GGMLIQ2_XS  GGMLType = 17
	GGMLIQ3_XXS GGMLType = 18
	GGMLIQ1_S   GGMLType = 19
	GGMLIQ4_NL  GGMLType = 20
	GGMLIQ3_S   GGMLType = 21
	GGMLIQ2_S   GGMLType = 22
	GGMLIQ4_XS  GGMLType = 23
	GGMLI8      GGMLType = 24
	GGMLI16     GGMLType = 25
	GGMLI32     GGMLType = 26
	GGMLI64     GGMLType = 27
	GGMLF64     GGMLType = 28
	GGMLIQ1_M   GGMLType = 29
	GGMLBF16    GGMLType = 30
	GGMLTQ1_0   GGMLType = 34
	GGMLTQ2_0   GGMLType = 35
	GGMLMXFP4   GGMLType = 39
	GGMLNVFP4   GGMLType = 40
)

// typeInfo is a type's name, values per block and bytes per block.
var typeInfo = map[GGMLType]struct {
	name         string
	block, bytes int
}{
	GGMLF32: {"F32", 1, 4}, GGMLF16: {"F16", 1, 2}, GGMLBF16: {"BF16", 1, 2},
	GGMLQ4_0: {"Q4_0", 32, 18}, GGMLQ4_1: {"Q4_1", 32, 20}, GGMLQ5_0: {"Q5_0", 32, 22}, GGMLQ5_1: {"Q5_1", 32, 24},
	GGMLQ8_0: {"Q8_0", 32, 34}, GGMLQ8_1: {"Q8_1", 32, 36},
	GGMLQ2_K: {"Q2_K", 256, 84}, GGMLQ3_K: {"Q3_K", 256, 110}, GGMLQ4_K: {"Q4_K", 256, 144},
	GGMLQ5_K: {"Q5_K", 256, 176}, GGMLQ6_K: {"Q6_K", 256, 210}, GGMLQ8_K: {"Q8_K", 256, 292},
	GGMLIQ4_NL: {"IQ4_NL", 32, 18}, GGMLIQ4_XS: {"IQ4_XS", 256, 136},
	GGMLIQ2_XXS: {"IQ2_XXS", 256, 66}, GGMLIQ2_XS: {"IQ2_XS", 256, 74}, GGMLIQ3_XXS: {"IQ3_XXS", 256, 98},
	GGMLIQ1_S: {"IQ1_S", 256, 50}, GGMLIQ3_S: {"IQ3_S", 256, 110}, GGMLIQ2_S: {"IQ2_S", 256, 82},
	GGMLIQ1_M: {"IQ1_M", 256, 56}, GGMLTQ1_0: {"TQ1_0", 256, 54}, GGMLTQ2_0: {"TQ2_0", 256, 66},
	GGMLMXFP4: {"MXFP4", 32, 17}, GGMLNVFP4: {"NVFP4", 64, 36},
	GGMLI8: {"I8", 1, 1}, GGMLI16: {"I16", 1, 2}, GGMLI32: {"I32", 1, 4}, GGMLI64: {"I64", 1, 8}, GGMLF64: {"F64", 1, 8},
}

// String returns the type's ggml name.
func (t GGMLType) String() string {
	if i, ok := typeInfo[t]; ok {
		return i.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// TensorInfo is one tensor of a GGUF file. Dims are ggml's, innermost
// (contiguous) first: a [out, in] matrix has Dims [in, out].
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   GGMLType
	Offset uint64 // from the start of the data section
	Size   uint64 // bytes
	Data   []byte // the stored bytes (a slice of the file)
}

// NumElements returns the product of the dimensions.
func (t *TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is a parsed GGUF file.
type File struct {
	Path      string
	Version   uint32
	KV        map[string]Value
	Keys      []string // in file order
	Tensors   []*TensorInfo
	Alignment uint64
	DataStart uint64 // offset of the data section in the file
	byName    map[string]*TensorInfo
}

// Tensor returns the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	t, ok := f.byName[name]
	return t, ok
}

// Limits on what a header may claim, beyond the bytes actually present.
const (
	maxKeyLen    = 1 << 16
	maxStringLen = 1 << 26
	maxArrayLen  = 1 << 26
	maxNesting   = 4
)

// reader walks the header bytes; every read checks the bytes left.
type reader struct {
	file string
	data []byte
	off  uint64
	err  error
}

func (r *reader) fail(what, format string, args ...any) {
	if r.err == nil {
		r.err = corrupt(r.file, what, format, args...)
	}
}

func (r *reader) take(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.data))-r.off {
		r.fail(what, "needs %d bytes at offset %d, file has %d (truncated?)", n, r.off, len(r.data))
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u32(what string) uint32 {
	if b := r.take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if b := r.take(8, what); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) str(what string, limit uint64) string {
	n := r.u64(what)
	if r.err != nil {
		return ""
	}
	if n > limit {
		r.fail(what, "string length %d exceeds the limit %d", n, limit)
		return ""
	}
	b := r.take(n, what)
	if r.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		r.fail(what, "string is not valid UTF-8")
		return ""
	}
	return string(b)
}

// value reads one value of type t.
func (r *reader) value(key string, t ValueType, depth int) Value {
	v := Value{Type: t}
	switch t {
	case TypeUint8:
		if b := r.take(1, key); b != nil {
			v.V = uint64(b[0])
		}
	case TypeInt8:
		if b := r.take(1, key); b != nil {
			v.V = int64(int8(b[0]))
		}
	case TypeUint16:
		if b := r.take(2, key); b != nil {
			v.V = uint64(binary.LittleEndian.Uint16(b))
		}
	case TypeInt16:
		if b := r.take(2, key); b != nil {
			v.V = int64(int16(binary.LittleEndian.Uint16(b)))
		}
	case TypeUint32:
		v.V = uint64(r.u32(key))
	case TypeInt32:
		v.V = int64(int32(r.u32(key)))
	case TypeFloat32:
		v.V = float64(math.Float32frombits(r.u32(key)))
	case TypeBool:
		if b := r.take(1, key); b != nil {
			if b[0] > 1 {
				r.fail(key, "bool value %d", b[0])
			}
			v.V = b[0] == 1
		}
	case TypeString:
		v.V = r.str(key, maxStringLen)
	case TypeUint64:
		v.V = r.u64(key)
	case TypeInt64:
		v.V = int64(r.u64(key))
	case TypeFloat64:
		v.V = math.Float64frombits(r.u64(key))
	case TypeArray:
		if depth >= maxNesting {
			r.fail(key, "arrays nested deeper than %d", maxNesting)
			return v
		}
		et := ValueType(r.u32(key))
		n := r.u64(key)
		if r.err != nil {
			return v
		}
		v.Elem = et
		min := uint64(et.scalarSize())
		switch et {
		case TypeString:
			min = 8
		case TypeArray:
			min = 12
		}
		if min == 0 {
			r.fail(key, "unknown array element type %d", et)
			return v
		}
		if n > maxArrayLen || n > (uint64(len(r.data))-r.off)/min {
			r.fail(key, "array of %d elements does not fit in the %d bytes left", n, uint64(len(r.data))-r.off)
			return v
		}
		switch {
		case et == TypeString:
			s := make([]string, 0, n)
			for range n {
				s = append(s, r.str(key, maxStringLen))
				if r.err != nil {
					return v
				}
			}
			v.V = s
		case et != TypeArray && et != TypeFloat32 && et != TypeFloat64 && et != TypeBool:
			s := make([]int64, 0, n)
			for range n {
				x := r.value(key, et, depth+1)
				if r.err != nil {
					return v
				}
				i, ok := x.Int()
				if !ok {
					u := x.V.(uint64)
					i = int64(u) // uint64 above MaxInt64: kept as its bits
				}
				s = append(s, i)
			}
			v.V = s
		default:
			s := make([]Value, 0, n)
			for range n {
				s = append(s, r.value(key, et, depth+1))
				if r.err != nil {
					return v
				}
			}
			v.V = s
		}
	default:
		r.fail(key, "unknown value type %d", t)
	}
	return v
}

// Parse validates a whole GGUF file held in data and returns its metadata
// and tensors (their Data slicing data). file names it in errors.
func Parse(file string, data []byte) (*File, error) {
	r := &reader{file: file, data: data}
	magic := r.take(4, "")
	if r.err != nil {
		return nil, corrupt(file, "", "file is %d bytes, too short for the GGUF magic (truncated?)", len(data))
	}
	if string(magic) != Magic {
		return nil, corrupt(file, "", "bad magic %q, want %q (not a GGUF file)", magic, Magic)
	}
	f := &File{Path: file, KV: map[string]Value{}, byName: map[string]*TensorInfo{}, Alignment: DefaultAlignment}
	f.Version = r.u32("version")
	if r.err == nil && f.Version != 2 && f.Version != 3 {
		return nil, corrupt(file, "", "version %d, want 2 or 3", f.Version)
	}
	nTensors := r.u64("tensor count")
	nKV := r.u64("metadata count")
	if r.err != nil {
		return nil, r.err
	}
	left := uint64(len(data)) - r.off
	if nKV > left/12 { // a key length, one byte of key at least... and a type
		return nil, corrupt(file, "", "metadata count %d cannot fit in the %d bytes left", nKV, left)
	}
	if nTensors > left/24 { // name length, rank, type and offset at least
		return nil, corrupt(file, "", "tensor count %d cannot fit in the %d bytes left", nTensors, left)
	}
	for range nKV {
		key := r.str("metadata key", maxKeyLen)
		t := ValueType(r.u32(key))
		if r.err != nil {
			return nil, r.err
		}
		if key == "" {
			return nil, corrupt(file, "", "empty metadata key")
		}
		if _, dup := f.KV[key]; dup {
			return nil, corrupt(file, key, "duplicate metadata key")
		}
		v := r.value(key, t, 0)
		if r.err != nil {
			return nil, r.err
		}
		f.KV[key] = v
		f.Keys = append(f.Keys, key)
	}
	if v, ok := f.KV["general.alignment"]; ok {
		a, isInt := v.Int()
		if v.Type != TypeUint32 || !isInt || a == 0 || a&(a-1) != 0 {
			return nil, corrupt(file, "general.alignment", "alignment %v is not a power of two (uint32)", v.V)
		}
		f.Alignment = uint64(a)
	}
	for range nTensors {
		name := r.str("tensor name", maxKeyLen)
		nd := r.u32(name)
		if r.err != nil {
			return nil, r.err
		}
		if nd == 0 || nd > MaxDims {
			return nil, corrupt(file, name, "rank %d, want 1 to %d", nd, MaxDims)
		}
		t := &TensorInfo{Name: name, Dims: make([]uint64, nd)}
		n := uint64(1)
		for i := range t.Dims {
			d := r.u64(name)
			if r.err != nil {
				return nil, r.err
			}
			if d == 0 || d > 1<<40 {
				return nil, corrupt(file, name, "dimension %d is %d", i, d)
			}
			hi, lo := bits.Mul64(n, d)
			if hi != 0 || lo > 1<<50 {
				return nil, corrupt(file, name, "element count overflows at dimension %d", i)
			}
			n = lo
			t.Dims[i] = d
		}
		t.Type = GGMLType(r.u32(name))
		t.Offset = r.u64(name)
		if r.err != nil {
			return nil, r.err
		}
		info, ok := typeInfo[t.Type]
		if !ok {
			return nil, corrupt(file, name, "unknown tensor type %d", uint32(t.Type))
		}
		if t.Dims[0]%uint64(info.block) != 0 {
			return nil, corrupt(file, name, "first dimension %d is not a multiple of %s's block of %d", t.Dims[0], info.name, info.block)
		}
		t.Size = n / uint64(info.block) * uint64(info.bytes)
		if name == "" {
			return nil, corrupt(file, "", "empty tensor name")
		}
		if _, dup := f.byName[name]; dup {
			return nil, corrupt(file, name, "duplicate tensor name")
		}
		if t.Offset%f.Alignment != 0 {
			return nil, corrupt(file, name, "offset %d is not a multiple of the alignment %d", t.Offset, f.Alignment)
		}
		f.byName[name] = t
		f.Tensors = append(f.Tensors, t)
	}
	start := (r.off + f.Alignment - 1) / f.Alignment * f.Alignment
	if len(f.Tensors) > 0 && start > uint64(len(data)) {
		return nil, corrupt(file, "", "data section at %d starts past the end of the file (%d bytes; truncated?)", start, len(data))
	}
	f.DataStart = start
	body := uint64(len(data)) - min(start, uint64(len(data)))
	sorted := append([]*TensorInfo(nil), f.Tensors...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	var end uint64
	for i, t := range sorted {
		if t.Offset > body || t.Size > body-t.Offset {
			return nil, corrupt(file, t.Name, "data [%d, +%d) past the end of the data section (%d bytes; truncated?)", t.Offset, t.Size, body)
		}
		if i > 0 && t.Offset < end {
			return nil, corrupt(file, t.Name, "data at %d overlaps %q (ends at %d)", t.Offset, sorted[i-1].Name, end)
		}
		end = t.Offset + t.Size
		t.Data = data[start+t.Offset : start+t.Offset+t.Size : start+t.Offset+t.Size]
	}
	return f, nil
}

// String returns a metadata string value.
func (f *File) String(key string) (string, bool) {
	v, ok := f.KV[key]
	if !ok {
		return "", false
	}
	s, ok := v.V.(string)
	return s, ok
}
