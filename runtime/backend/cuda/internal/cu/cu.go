// Package cu binds the CUDA driver API (libcuda.so.1) through purego, with
// no cgo. Every CUresult other than CUDA_SUCCESS becomes an *Error that
// names the call and the status.
//
// Versioned entry points are resolved by their real symbol names
// (cuMemAlloc_v2, ...): the unversioned legacy names keep old 32-bit ABIs.
//
// The driver's current context is per OS thread. Callers lock the calling
// goroutine to its thread (runtime.LockOSThread) and make the context
// current before a sequence of calls; this package does no locking itself.
package cu

import (
	"fmt"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/dl"
	"github.com/ebitengine/purego"
)

// Opaque driver handles.
type (
	Device    int32   // CUdevice
	Context   uintptr // CUcontext
	Stream    uintptr // CUstream (0 is the legacy default stream)
	Event     uintptr // CUevent
	Module    uintptr // CUmodule
	Function  uintptr // CUfunction
	Graph     uintptr // CUgraph
	GraphExec uintptr // CUgraphExec
	DevicePtr uint64  // CUdeviceptr: device memory, never dereferenced on the host
)

// Device attributes (CUdevice_attribute) used by the backend.
const (
	AttrMaxThreadsPerBlock        = 1
	AttrClockRate                 = 13
	AttrMultiprocessorCount       = 16
	AttrPCIBusID                  = 33
	AttrMemoryClockRate           = 36
	AttrGlobalMemoryBusWidth      = 37
	AttrL2CacheSize               = 38
	AttrComputeCapabilityMajor    = 75
	AttrComputeCapabilityMinor    = 76
	AttrMaxSharedMemPerBlockOptin = 97
)

// FuncAttrMaxDynamicSharedSize is CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.
const FuncAttrMaxDynamicSharedSize = 8

// StreamNonBlocking is CU_STREAM_NON_BLOCKING.
const StreamNonBlocking = 1

// Stream capture modes (CUstreamCaptureMode).
const (
	CaptureModeGlobal      = 0
	CaptureModeThreadLocal = 1
	CaptureModeRelaxed     = 2
)

// Launch parameter markers for the extra argument of cuLaunchKernel.
const (
	LaunchParamEnd           = 0
	LaunchParamBufferPointer = 1
	LaunchParamBufferSize    = 2
)

// Driver is the resolved driver API of one libcuda.
type Driver struct {
	Lib *dl.Library

	cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
	cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain,
	cuDevicePrimaryCtxRelease, cuCtxSetCurrent, cuCtxSynchronize,
	cuMemAlloc, cuMemFree, cuMemAllocHost, cuMemFreeHost, cuMemGetInfo,
	cuMemcpyHtoD, cuMemcpyDtoH, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemcpyDtoDAsync,
	cuMemsetD8Async, cuStreamCreate, cuStreamDestroy, cuStreamSynchronize,
	cuEventCreate, cuEventDestroy, cuEventRecord, cuEventSynchronize, cuEventElapsedTime,
	cuModuleLoadData, cuModuleUnload, cuModuleGetFunction, cuFuncSetAttribute,
	cuLaunchKernel, cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiate,
	cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy, cuGetErrorName, cuGetErrorString uintptr
}

// Load resolves the driver API from an opened libcuda.
func Load(lib *dl.Library) (*Driver, error) {
	d := &Driver{Lib: lib}
	err := lib.Bind([]dl.Binding{
		{Ptr: &d.cuInit, Names: []string{"cuInit"}},
		{Ptr: &d.cuDriverGetVersion, Names: []string{"cuDriverGetVersion"}},
		{Ptr: &d.cuDeviceGetCount, Names: []string{"cuDeviceGetCount"}},
		{Ptr: &d.cuDeviceGet, Names: []string{"cuDeviceGet"}},
		{Ptr: &d.cuDeviceGetName, Names: []string{"cuDeviceGetName"}},
		{Ptr: &d.cuDeviceGetAttribute, Names: []string{"cuDeviceGetAttribute"}},
		{Ptr: &d.cuDeviceTotalMem, Names: []string{"cuDeviceTotalMem_v2"}},
		{Ptr: &d.cuDevicePrimaryCtxRetain, Names: []string{"cuDevicePrimaryCtxRetain"}},
		{Ptr: &d.cuDevicePrimaryCtxRelease, Names: []string{"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"}},
		{Ptr: &d.cuCtxSetCurrent, Names: []string{"cuCtxSetCurrent"}},
		{Ptr: &d.cuCtxSynchronize, Names: []string{"cuCtxSynchronize"}},
		{Ptr: &d.cuMemAlloc, Names: []string{"cuMemAlloc_v2"}},
		{Ptr: &d.cuMemFree, Names: []string{"cuMemFree_v2"}},
		{Ptr: &d.cuMemAllocHost, Names: []string{"cuMemAllocHost_v2"}},
		{Ptr: &d.cuMemFreeHost, Names: []string{"cuMemFreeHost"}},
		{Ptr: &d.cuMemGetInfo, Names: []string{"cuMemGetInfo_v2"}},
		{Ptr: &d.cuMemcpyHtoD, Names: []string{"cuMemcpyHtoD_v2"}},
		{Ptr: &d.cuMemcpyDtoH, Names: []string{"cuMemcpyDtoH_v2"}},
		{Ptr: &d.cuMemcpyHtoDAsync, Names: []string{"cuMemcpyHtoDAsync_v2"}},
		{Ptr: &d.cuMemcpyDtoHAsync, Names: []string{"cuMemcpyDtoHAsync_v2"}},
		{Ptr: &d.cuMemcpyDtoDAsync, Names: []string{"cuMemcpyDtoDAsync_v2"}},
		{Ptr: &d.cuMemsetD8Async, Names: []string{"cuMemsetD8Async"}},
		{Ptr: &d.cuStreamCreate, Names: []string{"cuStreamCreate"}},
		{Ptr: &d.cuStreamDestroy, Names: []string{"cuStreamDestroy_v2"}},
		{Ptr: &d.cuStreamSynchronize, Names: []string{"cuStreamSynchronize"}},
		{Ptr: &d.cuEventCreate, Names: []string{"cuEventCreate"}},
		{Ptr: &d.cuEventDestroy, Names: []string{"cuEventDestroy_v2"}},
		{Ptr: &d.cuEventRecord, Names: []string{"cuEventRecord"}},
		{Ptr: &d.cuEventSynchronize, Names: []string{"cuEventSynchronize"}},
		{Ptr: &d.cuEventElapsedTime, Names: []string{"cuEventElapsedTime", "cuEventElapsedTime_v2"}},
		{Ptr: &d.cuModuleLoadData, Names: []string{"cuModuleLoadData"}},
		{Ptr: &d.cuModuleUnload, Names: []string{"cuModuleUnload"}},
		{Ptr: &d.cuModuleGetFunction, Names: []string{"cuModuleGetFunction"}},
		{Ptr: &d.cuFuncSetAttribute, Names: []string{"cuFuncSetAttribute"}},
		{Ptr: &d.cuLaunchKernel, Names: []string{"cuLaunchKernel"}},
		{Ptr: &d.cuStreamBeginCapture, Names: []string{"cuStreamBeginCapture_v2"}, Optional: true},
		{Ptr: &d.cuStreamEndCapture, Names: []string{"cuStreamEndCapture"}, Optional: true},
		{Ptr: &d.cuGraphInstantiate, Names: []string{"cuGraphInstantiateWithFlags"}, Optional: true},
		{Ptr: &d.cuGraphLaunch, Names: []string{"cuGraphLaunch"}, Optional: true},
		{Ptr: &d.cuGraphExecDestroy, Names: []string{"cuGraphExecDestroy"}, Optional: true},
		{Ptr: &d.cuGraphDestroy, Names: []string{"cuGraphDestroy"}, Optional: true},
		{Ptr: &d.cuGetErrorName, Names: []string{"cuGetErrorName"}, Optional: true},
		{Ptr: &d.cuGetErrorString, Names: []string{"cuGetErrorString"}, Optional: true},
	})
	if err != nil {
		return nil, fmt.Errorf("cu: bind driver API: %w", err)
	}
	return d, nil
}

// call invokes fn and maps its CUresult. Callers pass pointers as
// uintptr(unsafe.Pointer(&x)) in the argument list; go:uintptrescapes moves
// such x to the heap and keeps it alive for the call (a stack variable's
// address goes stale if the goroutine's stack moves before the C call, as
// internal/nvrtc's test showed for nvrtcVersion).
//
//go:uintptrescapes
func (d *Driver) call(name string, fn uintptr, args ...uintptr) error {
	r, _, _ := purego.SyscallN(fn, args...)
	res := Result(int32(r))
	if res == Success {
		return nil
	}
	e := &Error{Call: name, Code: res}
	e.Detail = d.errorString(res)
	return e
}

func (d *Driver) errorString(r Result) string {
	if d.cuGetErrorString == 0 {
		return ""
	}
	var p *byte
	if rr, _, _ := purego.SyscallN(d.cuGetErrorString, uintptr(r), uintptr(unsafe.Pointer(&p))); rr != 0 {
		return ""
	}
	return dl.GoString(p, 512)
}

// Init calls cuInit(0).
func (d *Driver) Init() error { return d.call("cuInit", d.cuInit, 0) }

// DriverVersion returns the driver's CUDA version as 1000*major + 10*minor.
func (d *Driver) DriverVersion() (int, error) {
	var v int32
	err := d.call("cuDriverGetVersion", d.cuDriverGetVersion, uintptr(unsafe.Pointer(&v)))
	return int(v), err
}

// DeviceCount returns the number of CUDA devices.
func (d *Driver) DeviceCount() (int, error) {
	var n int32
	err := d.call("cuDeviceGetCount", d.cuDeviceGetCount, uintptr(unsafe.Pointer(&n)))
	return int(n), err
}

// DeviceGet returns the device with ordinal i.
func (d *Driver) DeviceGet(i int) (Device, error) {
	var dev int32
	err := d.call("cuDeviceGet", d.cuDeviceGet, uintptr(unsafe.Pointer(&dev)), uintptr(i))
	return Device(dev), err
}

// DeviceName returns the marketing name of dev.
func (d *Driver) DeviceName(dev Device) (string, error) {
	buf := make([]byte, 256)
	if err := d.call("cuDeviceGetName", d.cuDeviceGetName, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(dev)); err != nil {
		return "", err
	}
	return dl.GoString(&buf[0], len(buf)), nil
}

// DeviceAttribute returns one CUdevice_attribute of dev.
func (d *Driver) DeviceAttribute(dev Device, attr int) (int, error) {
	var v int32
	err := d.call("cuDeviceGetAttribute", d.cuDeviceGetAttribute, uintptr(unsafe.Pointer(&v)), uintptr(attr), uintptr(dev))
	return int(v), err
}

// DeviceTotalMem returns the device memory size in bytes.
func (d *Driver) DeviceTotalMem(dev Device) (uint64, error) {
	var n uint64
	err := d.call("cuDeviceTotalMem_v2", d.cuDeviceTotalMem, uintptr(unsafe.Pointer(&n)), uintptr(dev))
	return n, err
}

// PrimaryCtxRetain retains the primary context of dev (shared with cuBLAS
// and any other library in the process).
func (d *Driver) PrimaryCtxRetain(dev Device) (Context, error) {
	var c uintptr
	err := d.call("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain, uintptr(unsafe.Pointer(&c)), uintptr(dev))
	return Context(c), err
}

// PrimaryCtxRelease releases a retained primary context.
func (d *Driver) PrimaryCtxRelease(dev Device) error {
	return d.call("cuDevicePrimaryCtxRelease_v2", d.cuDevicePrimaryCtxRelease, uintptr(dev))
}

// CtxSetCurrent binds c to the calling OS thread.
func (d *Driver) CtxSetCurrent(c Context) error {
	return d.call("cuCtxSetCurrent", d.cuCtxSetCurrent, uintptr(c))
}

// CtxSynchronize waits for all work in the current context.
func (d *Driver) CtxSynchronize() error {
	return d.call("cuCtxSynchronize", d.cuCtxSynchronize)
}

// MemAlloc allocates n bytes of device memory.
func (d *Driver) MemAlloc(n uint64) (DevicePtr, error) {
	var p uint64
	err := d.call("cuMemAlloc_v2", d.cuMemAlloc, uintptr(unsafe.Pointer(&p)), uintptr(n))
	return DevicePtr(p), err
}

// MemFree frees device memory from MemAlloc.
func (d *Driver) MemFree(p DevicePtr) error {
	return d.call("cuMemFree_v2", d.cuMemFree, uintptr(p))
}

// MemAllocHost allocates n bytes of page-locked host memory, usable for
// async copies and for kernel argument blocks. The returned slice aliases C
// memory: free it with MemFreeHost, never let the GC see it as Go memory.
func (d *Driver) MemAllocHost(n int) ([]byte, error) {
	var p unsafe.Pointer
	if err := d.call("cuMemAllocHost_v2", d.cuMemAllocHost, uintptr(unsafe.Pointer(&p)), uintptr(n)); err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), n), nil
}

// MemFreeHost frees memory from MemAllocHost.
func (d *Driver) MemFreeHost(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return d.call("cuMemFreeHost", d.cuMemFreeHost, uintptr(unsafe.Pointer(&b[0])))
}

// MemGetInfo returns free and total device memory in bytes.
func (d *Driver) MemGetInfo() (free, total uint64, err error) {
	err = d.call("cuMemGetInfo_v2", d.cuMemGetInfo, uintptr(unsafe.Pointer(&free)), uintptr(unsafe.Pointer(&total)))
	return free, total, err
}

// MemcpyHtoD copies len(src) bytes to dst synchronously.
func (d *Driver) MemcpyHtoD(dst DevicePtr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return d.call("cuMemcpyHtoD_v2", d.cuMemcpyHtoD, uintptr(dst), uintptr(unsafe.Pointer(&src[0])), uintptr(len(src)))
}

// MemcpyDtoH copies len(dst) bytes from src synchronously.
func (d *Driver) MemcpyDtoH(dst []byte, src DevicePtr) error {
	if len(dst) == 0 {
		return nil
	}
	return d.call("cuMemcpyDtoH_v2", d.cuMemcpyDtoH, uintptr(unsafe.Pointer(&dst[0])), uintptr(src), uintptr(len(dst)))
}

// MemcpyHtoDAsync enqueues a host-to-device copy. src must be pinned memory
// from MemAllocHost and stay untouched until the stream reaches the copy.
func (d *Driver) MemcpyHtoDAsync(dst DevicePtr, src []byte, s Stream) error {
	if len(src) == 0 {
		return nil
	}
	return d.call("cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync, uintptr(dst), uintptr(unsafe.Pointer(&src[0])), uintptr(len(src)), uintptr(s))
}

// MemcpyDtoHAsync enqueues a device-to-host copy into pinned memory.
func (d *Driver) MemcpyDtoHAsync(dst []byte, src DevicePtr, s Stream) error {
	if len(dst) == 0 {
		return nil
	}
	return d.call("cuMemcpyDtoHAsync_v2", d.cuMemcpyDtoHAsync, uintptr(unsafe.Pointer(&dst[0])), uintptr(src), uintptr(len(dst)), uintptr(s))
}

// MemcpyDtoDAsync enqueues a device-to-device copy of n bytes.
func (d *Driver) MemcpyDtoDAsync(dst, src DevicePtr, n uint64, s Stream) error {
	return d.call("cuMemcpyDtoDAsync_v2", d.cuMemcpyDtoDAsync, uintptr(dst), uintptr(src), uintptr(n), uintptr(s))
}

// MemsetD8Async fills n bytes at p with v.
func (d *Driver) MemsetD8Async(p DevicePtr, v byte, n uint64, s Stream) error {
	return d.call("cuMemsetD8Async", d.cuMemsetD8Async, uintptr(p), uintptr(v), uintptr(n), uintptr(s))
}

// StreamCreate creates a stream with the given flags.
func (d *Driver) StreamCreate(flags int) (Stream, error) {
	var s uintptr
	err := d.call("cuStreamCreate", d.cuStreamCreate, uintptr(unsafe.Pointer(&s)), uintptr(flags))
	return Stream(s), err
}

// StreamDestroy destroys s.
func (d *Driver) StreamDestroy(s Stream) error {
	return d.call("cuStreamDestroy_v2", d.cuStreamDestroy, uintptr(s))
}

// StreamSynchronize waits for s.
func (d *Driver) StreamSynchronize(s Stream) error {
	return d.call("cuStreamSynchronize", d.cuStreamSynchronize, uintptr(s))
}

// EventCreate creates an event (flags 0: timing enabled).
func (d *Driver) EventCreate(flags int) (Event, error) {
	var e uintptr
	err := d.call("cuEventCreate", d.cuEventCreate, uintptr(unsafe.Pointer(&e)), uintptr(flags))
	return Event(e), err
}

// EventDestroy destroys e.
func (d *Driver) EventDestroy(e Event) error {
	return d.call("cuEventDestroy_v2", d.cuEventDestroy, uintptr(e))
}

// EventRecord records e on s.
func (d *Driver) EventRecord(e Event, s Stream) error {
	return d.call("cuEventRecord", d.cuEventRecord, uintptr(e), uintptr(s))
}

// EventSynchronize waits for e.
func (d *Driver) EventSynchronize(e Event) error {
	return d.call("cuEventSynchronize", d.cuEventSynchronize, uintptr(e))
}

// EventElapsedTime returns the milliseconds between two recorded events.
func (d *Driver) EventElapsedTime(start, end Event) (float32, error) {
	var ms float32
	err := d.call("cuEventElapsedTime", d.cuEventElapsedTime, uintptr(unsafe.Pointer(&ms)), uintptr(start), uintptr(end))
	return ms, err
}

// ModuleLoadData loads a CUBIN (or PTX) image. The driver copies the image.
func (d *Driver) ModuleLoadData(image []byte) (Module, error) {
	if len(image) == 0 {
		return 0, &Error{Call: "cuModuleLoadData", Code: ErrorInvalidValue, Detail: "empty image"}
	}
	var m uintptr
	err := d.call("cuModuleLoadData", d.cuModuleLoadData, uintptr(unsafe.Pointer(&m)), uintptr(unsafe.Pointer(&image[0])))
	return Module(m), err
}

// ModuleUnload unloads m.
func (d *Driver) ModuleUnload(m Module) error {
	return d.call("cuModuleUnload", d.cuModuleUnload, uintptr(m))
}

// ModuleGetFunction looks up an extern "C" kernel by name.
func (d *Driver) ModuleGetFunction(m Module, name string) (Function, error) {
	var f uintptr
	cname := dl.CString(name)
	err := d.call("cuModuleGetFunction", d.cuModuleGetFunction, uintptr(unsafe.Pointer(&f)), uintptr(m), uintptr(unsafe.Pointer(&cname[0])))
	if err != nil {
		err = fmt.Errorf("kernel %s: %w", name, err)
	}
	return Function(f), err
}

// FuncSetAttribute sets a CUfunction_attribute (for example the dynamic
// shared memory limit above 48 KB).
func (d *Driver) FuncSetAttribute(f Function, attr, value int) error {
	return d.call("cuFuncSetAttribute", d.cuFuncSetAttribute, uintptr(f), uintptr(attr), uintptr(value))
}

// LaunchKernel launches f with its parameters packed in one block
// (CU_LAUNCH_PARAM_BUFFER_POINTER). extra must point into C memory (pinned
// host memory) holding {1, &params, 2, &size, 0}; the driver copies the
// parameters before returning, so the block can be reused at once.
func (d *Driver) LaunchKernel(f Function, grid, block [3]uint32, sharedBytes uint32, s Stream, extra unsafe.Pointer) error {
	return d.call("cuLaunchKernel", d.cuLaunchKernel, uintptr(f),
		uintptr(grid[0]), uintptr(grid[1]), uintptr(grid[2]),
		uintptr(block[0]), uintptr(block[1]), uintptr(block[2]),
		uintptr(sharedBytes), uintptr(s), 0, uintptr(extra))
}

// HasGraphs reports whether the stream-capture and graph entry points exist.
func (d *Driver) HasGraphs() bool {
	return d.cuStreamBeginCapture != 0 && d.cuStreamEndCapture != 0 && d.cuGraphInstantiate != 0 && d.cuGraphLaunch != 0
}

// StreamBeginCapture starts capturing s into a graph.
func (d *Driver) StreamBeginCapture(s Stream, mode int) error {
	return d.call("cuStreamBeginCapture_v2", d.cuStreamBeginCapture, uintptr(s), uintptr(mode))
}

// StreamEndCapture ends a capture and returns the graph.
func (d *Driver) StreamEndCapture(s Stream) (Graph, error) {
	var g uintptr
	err := d.call("cuStreamEndCapture", d.cuStreamEndCapture, uintptr(s), uintptr(unsafe.Pointer(&g)))
	return Graph(g), err
}

// GraphInstantiate instantiates g for launching.
func (d *Driver) GraphInstantiate(g Graph) (GraphExec, error) {
	var e uintptr
	err := d.call("cuGraphInstantiateWithFlags", d.cuGraphInstantiate, uintptr(unsafe.Pointer(&e)), uintptr(g), 0)
	return GraphExec(e), err
}

// GraphLaunch enqueues an instantiated graph on s.
func (d *Driver) GraphLaunch(e GraphExec, s Stream) error {
	return d.call("cuGraphLaunch", d.cuGraphLaunch, uintptr(e), uintptr(s))
}

// GraphExecDestroy destroys an instantiated graph.
func (d *Driver) GraphExecDestroy(e GraphExec) error {
	return d.call("cuGraphExecDestroy", d.cuGraphExecDestroy, uintptr(e))
}

// GraphDestroy destroys a graph.
func (d *Driver) GraphDestroy(g Graph) error {
	return d.call("cuGraphDestroy", d.cuGraphDestroy, uintptr(g))
}
