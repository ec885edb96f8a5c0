// Package nvrtc binds the NVIDIA runtime compiler (libnvrtc.so*) through
// purego, with no cgo. Every nvrtcResult other than NVRTC_SUCCESS becomes
// an *Error naming the call and the status; compile failures carry the
// program log.
package nvrtc

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/dl"
	"github.com/ebitengine/purego"
)

// Result is an nvrtcResult status code.
type Result int

// Success is NVRTC_SUCCESS.
const Success Result = 0

// ErrorCompilation is NVRTC_ERROR_COMPILATION.
const ErrorCompilation Result = 6

var resultNames = map[Result]string{
	0:  "NVRTC_SUCCESS",
	1:  "NVRTC_ERROR_OUT_OF_MEMORY",
	2:  "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
	3:  "NVRTC_ERROR_INVALID_INPUT",
	4:  "NVRTC_ERROR_INVALID_PROGRAM",
	5:  "NVRTC_ERROR_INVALID_OPTION",
	6:  "NVRTC_ERROR_COMPILATION",
	7:  "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
	8:  "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION",
	9:  "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION",
	10: "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID",
	11: "NVRTC_ERROR_INTERNAL_ERROR",
	12: "NVRTC_ERROR_TIME_FILE_WRITE_FAILED",
}

// String returns the enumerator name, or nvrtcResult(N).
func (r Result) String() string {
	if s, ok := resultNames[r]; ok {
		return s
	}
	return fmt.Sprintf("nvrtcResult(%d)", int(r))
}

// Error is a failed NVRTC call.
type Error struct {
	Call    string // e.g. "nvrtcCompileProgram"
	Program string // the program (file) name, when known
	Code    Result
	Log     string // the compiler log for compile failures
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s (%d)", e.Call, e.Code, int(e.Code))
	if e.Program != "" {
		s = e.Program + ": " + s
	}
	if e.Log != "" {
		s += "\n" + e.Log
	}
	return s
}

// NVRTC is the resolved compiler API.
type NVRTC struct {
	Lib *dl.Library

	nvrtcVersion, nvrtcCreateProgram, nvrtcDestroyProgram, nvrtcCompileProgram,
	nvrtcGetProgramLogSize, nvrtcGetProgramLog, nvrtcGetCUBINSize, nvrtcGetCUBIN,
	nvrtcGetPTXSize, nvrtcGetPTX, nvrtcGetNumSupportedArchs, nvrtcGetSupportedArchs uintptr
}

// Load resolves the NVRTC API from an opened libnvrtc.
func Load(lib *dl.Library) (*NVRTC, error) {
	n := &NVRTC{Lib: lib}
	err := lib.Bind([]dl.Binding{
		{Ptr: &n.nvrtcVersion, Names: []string{"nvrtcVersion"}},
		{Ptr: &n.nvrtcCreateProgram, Names: []string{"nvrtcCreateProgram"}},
		{Ptr: &n.nvrtcDestroyProgram, Names: []string{"nvrtcDestroyProgram"}},
		{Ptr: &n.nvrtcCompileProgram, Names: []string{"nvrtcCompileProgram"}},
		{Ptr: &n.nvrtcGetProgramLogSize, Names: []string{"nvrtcGetProgramLogSize"}},
		{Ptr: &n.nvrtcGetProgramLog, Names: []string{"nvrtcGetProgramLog"}},
		{Ptr: &n.nvrtcGetCUBINSize, Names: []string{"nvrtcGetCUBINSize"}},
		{Ptr: &n.nvrtcGetCUBIN, Names: []string{"nvrtcGetCUBIN"}},
		{Ptr: &n.nvrtcGetPTXSize, Names: []string{"nvrtcGetPTXSize"}},
		{Ptr: &n.nvrtcGetPTX, Names: []string{"nvrtcGetPTX"}},
		{Ptr: &n.nvrtcGetNumSupportedArchs, Names: []string{"nvrtcGetNumSupportedArchs"}, Optional: true},
		{Ptr: &n.nvrtcGetSupportedArchs, Names: []string{"nvrtcGetSupportedArchs"}, Optional: true},
	})
	if err != nil {
		return nil, fmt.Errorf("nvrtc: bind API: %w", err)
	}
	return n, nil
}

// call runs one NVRTC function. Callers pass pointers as
// uintptr(unsafe.Pointer(&x)) in the argument list; go:uintptrescapes
// moves such x to the heap and keeps it alive for the call, as purego's
// SyscallN does for its own arguments. Without it a stack variable's
// address can go stale when the goroutine's stack moves before the C call
// (NVRTC then writes into a freed stack: nvrtcVersion read back 0.0).
//
//go:uintptrescapes
func (n *NVRTC) call(name, prog string, fn uintptr, args ...uintptr) error {
	r, _, _ := purego.SyscallN(fn, args...)
	if res := Result(int32(r)); res != Success {
		return &Error{Call: name, Program: prog, Code: res}
	}
	return nil
}

// Version returns NVRTC's major and minor version.
func (n *NVRTC) Version() (major, minor int, err error) {
	var a, b int32
	err = n.call("nvrtcVersion", "", n.nvrtcVersion, uintptr(unsafe.Pointer(&a)), uintptr(unsafe.Pointer(&b)))
	return int(a), int(b), err
}

// SupportedArchs returns the SM versions (e.g. 90 for sm_90) this NVRTC can
// generate code for, or nil when the library cannot say.
func (n *NVRTC) SupportedArchs() ([]int, error) {
	if n.nvrtcGetNumSupportedArchs == 0 || n.nvrtcGetSupportedArchs == 0 {
		return nil, nil
	}
	var cnt int32
	if err := n.call("nvrtcGetNumSupportedArchs", "", n.nvrtcGetNumSupportedArchs, uintptr(unsafe.Pointer(&cnt))); err != nil {
		return nil, err
	}
	if cnt <= 0 || cnt > 1024 {
		return nil, nil
	}
	archs := make([]int32, cnt)
	if err := n.call("nvrtcGetSupportedArchs", "", n.nvrtcGetSupportedArchs, uintptr(unsafe.Pointer(&archs[0]))); err != nil {
		return nil, err
	}
	out := make([]int, len(archs))
	for i, a := range archs {
		out[i] = int(a)
	}
	return out, nil
}

// Header is one include file given to the compiler by name.
type Header struct {
	Name   string // as written in #include "..."
	Source string
}

// Output is the result of one successful compilation.
type Output struct {
	CUBIN []byte // device code for the requested real architecture (nil when PTX was asked for)
	PTX   []byte // PTX text, when the target was a virtual architecture
	Log   string // warnings, if any
}

// Compile compiles one translation unit. With a real architecture option
// (--gpu-architecture=sm_XX) it returns a CUBIN; with compute_XX, PTX.
func (n *NVRTC) Compile(name, source string, headers []Header, options []string) (*Output, error) {
	src := dl.CString(source)
	cname := dl.CString(name)
	hsrc := make([]string, len(headers))
	hname := make([]string, len(headers))
	for i, h := range headers {
		hsrc[i], hname[i] = h.Source, h.Name
	}
	hs, hn, opts := dl.NewCStrings(hsrc), dl.NewCStrings(hname), dl.NewCStrings(options)
	defer hs.Free()
	defer hn.Free()
	defer opts.Free()

	var prog uintptr
	err := n.call("nvrtcCreateProgram", name, n.nvrtcCreateProgram, uintptr(unsafe.Pointer(&prog)),
		uintptr(unsafe.Pointer(&src[0])), uintptr(unsafe.Pointer(&cname[0])),
		uintptr(hs.Len()), hs.Ptr(), hn.Ptr())
	runtime.KeepAlive(src)
	runtime.KeepAlive(cname)
	if err != nil {
		return nil, err
	}
	defer purego.SyscallN(n.nvrtcDestroyProgram, uintptr(unsafe.Pointer(&prog)))

	cerr := n.call("nvrtcCompileProgram", name, n.nvrtcCompileProgram, prog, uintptr(opts.Len()), opts.Ptr())
	log := n.programLog(prog)
	if cerr != nil {
		if e, ok := cerr.(*Error); ok {
			e.Log = log
		}
		return nil, cerr
	}
	out := &Output{Log: log}
	var size uintptr
	if err := n.call("nvrtcGetCUBINSize", name, n.nvrtcGetCUBINSize, prog, uintptr(unsafe.Pointer(&size))); err == nil && size > 0 {
		out.CUBIN = make([]byte, size)
		if err := n.call("nvrtcGetCUBIN", name, n.nvrtcGetCUBIN, prog, uintptr(unsafe.Pointer(&out.CUBIN[0]))); err != nil {
			return nil, err
		}
		return out, nil
	}
	if err := n.call("nvrtcGetPTXSize", name, n.nvrtcGetPTXSize, prog, uintptr(unsafe.Pointer(&size))); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, &Error{Call: "nvrtcGetPTXSize", Program: name, Code: 11, Log: "compiler produced no output"}
	}
	out.PTX = make([]byte, size)
	if err := n.call("nvrtcGetPTX", name, n.nvrtcGetPTX, prog, uintptr(unsafe.Pointer(&out.PTX[0]))); err != nil {
		return nil, err
	}
	return out, nil
}

func (n *NVRTC) programLog(prog uintptr) string {
	var size uintptr
	if err := n.call("nvrtcGetProgramLogSize", "", n.nvrtcGetProgramLogSize, prog, uintptr(unsafe.Pointer(&size))); err != nil || size <= 1 {
		return ""
	}
	buf := make([]byte, size)
	if err := n.call("nvrtcGetProgramLog", "", n.nvrtcGetProgramLog, prog, uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return ""
	}
	return dl.GoString(&buf[0], len(buf))
}
