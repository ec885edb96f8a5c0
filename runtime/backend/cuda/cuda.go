// Package cuda is the NVIDIA GPU implementation of backend.Backend. It
// reaches the CUDA driver API (libcuda.so.1), NVRTC (libnvrtc.so*) and
// cuBLASLt (libcublasLt.so*) through purego, so it builds everywhere with
// CGO_ENABLED=0 and needs no CUDA toolkit at build time. The kernels in
// package native are compiled by NVRTC for the GPU found and cached on
// disk.
//
// Open returns an error wrapping ErrUnavailable, with the reason, when no
// usable GPU or library is present; callers then fall back to the CPU
// backend. Probe reports the same facts without compiling anything, for
// dream-lsp doctor.
//
// Every driver call runs with the backend's mutex held, on a goroutine
// locked to its OS thread with the backend's context current, so a
// Backend may be used from any goroutine (one call at a time).
package cuda

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"unsafe"

	"github.com/dream-lsp/dream-lsp/native"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/cu"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/cublaslt"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/dl"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/nvrtc"
)

// ErrUnavailable is wrapped by every error that means "no usable CUDA
// GPU here": a missing library, no device, a driver too old. Test with
// errors.Is and fall back to the CPU.
var ErrUnavailable = errors.New("cuda: unavailable")

func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, args...))
}

// Options configure Open. The zero value is ready to use.
type Options struct {
	Device   int          // device ordinal (0: the first GPU)
	CacheDir string       // compiled-kernel cache ("": os.UserCacheDir()/dream-lsp/cuda; "off": no cache)
	Logger   *slog.Logger // nil: slog.Default()
}

// Backend is the CUDA backend. Create it with Open; Close releases the
// device memory, modules and context reference.
type Backend struct {
	mu  sync.Mutex // guards every field below and every driver call
	log *slog.Logger

	libs  *libraries
	drv   *cu.Driver
	nv    *nvrtc.NVRTC
	lt    *cublaslt.Lt
	dev   cu.Device
	ctx   cu.Context
	info  Device
	strm  cu.Stream // 0: the legacy default stream (see Read)
	mods  []cu.Module
	fns   map[string]kernelFunc
	metas map[string]native.Kernel // every kernel's metadata, loaded or not
	args  []byte                   // pinned: launch "extra" block and packed parameters
	plans map[cublaslt.GEMMShape]*cublaslt.Plan
	ws    cu.DevicePtr // cuBLASLt workspace
	wsLen uint64

	scratch   map[string]*devBuf // small device buffers for host index arrays
	live      map[cu.DevicePtr]uint64
	compileMS float64
	unitErrs  map[string]error // optional units that failed to compile
	closed    bool
}

type kernelFunc struct {
	fn   cu.Function
	meta native.Kernel
}

// Device describes the GPU a backend runs on.
type Device struct {
	Ordinal       int    `json:"ordinal"`
	Name          string `json:"name"`
	ComputeMajor  int    `json:"compute_major"`
	ComputeMinor  int    `json:"compute_minor"`
	SMs           int    `json:"sms"`
	MemoryBytes   uint64 `json:"memory_bytes"`
	L2Bytes       int    `json:"l2_bytes"`
	SharedOptinKB int    `json:"shared_optin_kb"`
}

// Arch is the NVRTC target for the device, e.g. "sm_90".
func (d Device) Arch() string { return fmt.Sprintf("sm_%d%d", d.ComputeMajor, d.ComputeMinor) }

// workspaceBytes is the cuBLASLt workspace (fixed, so GEMMs can be
// captured in CUDA graphs).
const workspaceBytes = 32 << 20

// Open finds the libraries, initialises the driver, retains the primary
// context of the device, compiles (or loads from the cache) every kernel
// and creates the cuBLASLt handle.
func Open(opts Options) (*Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	libs, rep := loadLibraries(defaultEnv())
	b := &Backend{log: log, libs: libs, fns: map[string]kernelFunc{}, plans: map[cublaslt.GEMMShape]*cublaslt.Plan{},
		scratch: map[string]*devBuf{}, live: map[cu.DevicePtr]uint64{}, unitErrs: map[string]error{}}
	if libs.cuda == nil {
		return nil, unavailable("%s", rep.libraryReason("libcuda"))
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	drv, dev, info, err := initDevice(libs.cuda, opts.Device)
	if err != nil {
		libs.close()
		return nil, err
	}
	b.drv, b.dev, b.info = drv, dev, info
	if libs.nvrtc == nil {
		libs.close()
		return nil, unavailable("%s", rep.libraryReason("libnvrtc"))
	}
	if libs.cublasLt == nil {
		libs.close()
		return nil, unavailable("%s", rep.libraryReason("libcublasLt"))
	}
	if b.nv, err = nvrtc.Load(libs.nvrtc); err != nil {
		libs.close()
		return nil, unavailable("%v", err)
	}
	if b.lt, err = cublaslt.Load(libs.cublasLt); err != nil {
		libs.close()
		return nil, unavailable("%v", err)
	}
	if b.ctx, err = drv.PrimaryCtxRetain(dev); err != nil {
		libs.close()
		return nil, unavailable("retain primary context of GPU %d: %v", opts.Device, err)
	}
	if err := b.setup(opts); err != nil {
		b.closeLocked()
		return nil, err
	}
	log.Info("cuda backend ready", "gpu", info.Name, "arch", info.Arch(), "sms", info.SMs,
		"mem_gib", float64(info.MemoryBytes)/(1<<30), "kernels", len(b.fns), "compile_ms", b.compileMS)
	return b, nil
}

// initDevice loads the driver API, initialises it and reads the device.
func initDevice(lib *dl.Library, ordinal int) (*cu.Driver, cu.Device, Device, error) {
	drv, err := cu.Load(lib)
	if err != nil {
		return nil, 0, Device{}, unavailable("%v", err)
	}
	if err := drv.Init(); err != nil {
		return nil, 0, Device{}, unavailable("initialise the driver (%s): %v", lib.Path, err)
	}
	n, err := drv.DeviceCount()
	if err != nil {
		return nil, 0, Device{}, unavailable("count GPUs: %v", err)
	}
	if n == 0 {
		return nil, 0, Device{}, unavailable("the driver reports no GPU")
	}
	if ordinal < 0 || ordinal >= n {
		return nil, 0, Device{}, unavailable("GPU %d requested, %d present", ordinal, n)
	}
	dev, err := drv.DeviceGet(ordinal)
	if err != nil {
		return nil, 0, Device{}, unavailable("open GPU %d: %v", ordinal, err)
	}
	info, err := describe(drv, dev, ordinal)
	if err != nil {
		return nil, 0, Device{}, unavailable("query GPU %d: %v", ordinal, err)
	}
	if info.ComputeMajor < 8 {
		return nil, 0, Device{}, unavailable("GPU %d (%s) has compute capability %d.%d; the kernels need 8.0 or newer",
			ordinal, info.Name, info.ComputeMajor, info.ComputeMinor)
	}
	return drv, dev, info, nil
}

func describe(drv *cu.Driver, dev cu.Device, ordinal int) (Device, error) {
	d := Device{Ordinal: ordinal}
	var err error
	if d.Name, err = drv.DeviceName(dev); err != nil {
		return d, err
	}
	attrs := []struct {
		attr int
		dst  *int
	}{
		{cu.AttrComputeCapabilityMajor, &d.ComputeMajor},
		{cu.AttrComputeCapabilityMinor, &d.ComputeMinor},
		{cu.AttrMultiprocessorCount, &d.SMs},
		{cu.AttrL2CacheSize, &d.L2Bytes},
		{cu.AttrMaxSharedMemPerBlockOptin, &d.SharedOptinKB},
	}
	for _, a := range attrs {
		if *a.dst, err = drv.DeviceAttribute(dev, a.attr); err != nil {
			return d, err
		}
	}
	d.SharedOptinKB /= 1024
	d.MemoryBytes, err = drv.DeviceTotalMem(dev)
	return d, err
}

// setup runs with the context retained: it compiles the kernels, creates
// the cuBLASLt handle, the workspace and the argument block.
func (b *Backend) setup(opts Options) error {
	if err := b.drv.CtxSetCurrent(b.ctx); err != nil {
		return fmt.Errorf("cuda: make context current: %w", err)
	}
	var err error
	if b.args, err = b.drv.MemAllocHost(4096); err != nil {
		return fmt.Errorf("cuda: allocate pinned argument block: %w", err)
	}
	if err := b.loadKernels(opts.CacheDir); err != nil {
		return err
	}
	if err := b.lt.Create(); err != nil {
		return fmt.Errorf("cuda: create cuBLASLt handle: %w", err)
	}
	if b.ws, err = b.drv.MemAlloc(workspaceBytes); err != nil {
		return fmt.Errorf("cuda: allocate cuBLASLt workspace: %w", err)
	}
	b.wsLen = workspaceBytes
	return nil
}

// Info describes the GPU in use.
func (b *Backend) Info() Device { return b.info }

// Name implements backend.Backend.
func (b *Backend) Name() string { return "cuda" }

// enter locks the backend and makes its context current on this thread;
// the returned function undoes both.
func (b *Backend) enter() (func(), error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("cuda: backend is closed")
	}
	runtime.LockOSThread()
	if err := b.drv.CtxSetCurrent(b.ctx); err != nil {
		runtime.UnlockOSThread()
		b.mu.Unlock()
		return nil, fmt.Errorf("cuda: make context current: %w", err)
	}
	return func() {
		runtime.UnlockOSThread()
		b.mu.Unlock()
	}, nil
}

// launch packs args for the named kernel and launches it on the backend's
// stream with the kernel's declared block size.
func (b *Backend) launch(name string, grid [3]uint32, sharedBytes uint32, args ...any) error {
	return b.launchOn(b.strm, name, grid, sharedBytes, args...)
}

// launchOn is launch on stream s. The caller holds the backend (enter).
func (b *Backend) launchOn(s cu.Stream, name string, grid [3]uint32, sharedBytes uint32, args ...any) error {
	k, ok := b.fns[name]
	if !ok {
		for u, err := range b.unitErrs {
			if meta, known := b.metas[name]; known && meta.Unit == u {
				return fmt.Errorf("cuda: kernel %s unavailable: %w", name, err)
			}
		}
		return fmt.Errorf("cuda: kernel %s not loaded", name)
	}
	const paramsOff, sizeOff = 64, 48
	n, err := k.meta.Pack(b.args[paramsOff:], args...)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	le.PutUint64(b.args[sizeOff:], uint64(n))
	le.PutUint64(b.args[0:], cu.LaunchParamBufferPointer)
	le.PutUint64(b.args[8:], uint64(uintptr(unsafe.Pointer(&b.args[paramsOff]))))
	le.PutUint64(b.args[16:], cu.LaunchParamBufferSize)
	le.PutUint64(b.args[24:], uint64(uintptr(unsafe.Pointer(&b.args[sizeOff]))))
	le.PutUint64(b.args[32:], cu.LaunchParamEnd)
	for i := range grid {
		if grid[i] == 0 {
			grid[i] = 1
		}
	}
	block := [3]uint32{uint32(k.meta.MaxThreads), 1, 1}
	if err := b.drv.LaunchKernel(k.fn, grid, block, sharedBytes, s, unsafe.Pointer(&b.args[0])); err != nil {
		return fmt.Errorf("cuda: launch %s grid %v: %w", name, grid, err)
	}
	return nil
}

// Synchronize waits for all work issued so far.
func (b *Backend) Synchronize() error {
	leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	return b.drv.StreamSynchronize(b.strm)
}

// Close implements backend.Backend: it frees every tensor still live,
// unloads the modules and releases the context.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return b.closeLocked()
}

func (b *Backend) closeLocked() error {
	b.closed = true
	var errs []error
	if b.drv != nil && b.ctx != 0 {
		if err := b.drv.CtxSetCurrent(b.ctx); err != nil {
			errs = append(errs, err)
		}
		_ = b.drv.CtxSynchronize()
		for _, p := range b.plans {
			if p != nil {
				p.Destroy()
			}
		}
		if b.lt != nil {
			if err := b.lt.Destroy(); err != nil {
				errs = append(errs, err)
			}
		}
		for _, s := range b.scratch {
			_ = b.drv.MemFree(s.ptr)
		}
		for p := range b.live {
			_ = b.drv.MemFree(p)
		}
		if b.ws != 0 {
			_ = b.drv.MemFree(b.ws)
		}
		for _, m := range b.mods {
			_ = b.drv.ModuleUnload(m)
		}
		if b.args != nil {
			_ = b.drv.MemFreeHost(b.args)
			b.args = nil
		}
		if err := b.drv.PrimaryCtxRelease(b.dev); err != nil {
			errs = append(errs, err)
		}
		b.ctx = 0
	}
	b.libs.close()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cuda: close: %w", err)
	}
	return nil
}
