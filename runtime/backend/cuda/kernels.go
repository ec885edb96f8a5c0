package cuda

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dream-lsp/dream-lsp/native"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/nvrtc"
)

// EnvCache overrides the compiled-kernel cache directory ("off" disables
// the cache).
const EnvCache = "DREAM_CUDA_CACHE"

// compileOptions returns the NVRTC options for arch at NVRTC version
// major.minor. minimal adds --minimal (NVRTC 12.4+), which skips headers
// the kernels do not use and cuts compile time.
func compileOptions(arch string, major, minor int, minimal bool) []string {
	opts := []string{"--gpu-architecture=" + arch, "-std=c++17", "-default-device"}
	if minimal && (major > 12 || major == 12 && minor >= 4) {
		opts = append(opts, "--minimal")
	}
	return opts
}

// cacheKey identifies one compiled unit: its source, every header, the
// options and the compiler and driver versions.
func cacheKey(unit, src string, headers map[string]string, opts []string, nvrtcVersion string, driver int) string {
	h := sha256.New()
	fmt.Fprintf(h, "unit=%s\nnvrtc=%s\ndriver=%d\n", unit, nvrtcVersion, driver)
	for _, o := range opts {
		fmt.Fprintf(h, "opt=%s\n", o)
	}
	names := make([]string, 0, len(headers))
	for n := range headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "header=%s %d\n%s", n, len(headers[n]), headers[n])
	}
	fmt.Fprintf(h, "src %d\n%s", len(src), src)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// cacheDir resolves the kernel cache directory ("" when disabled).
func cacheDir(opt string) string {
	if v := os.Getenv(EnvCache); v != "" {
		opt = v
	}
	if opt == "off" {
		return ""
	}
	if opt != "" {
		return opt
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "dream-lsp", "cuda")
}

// CompileResult reports one unit compiled (or loaded from the cache).
type CompileResult struct {
	Unit    string        `json:"unit"`
	Cached  bool          `json:"cached"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Bytes   int           `json:"bytes"`
	Log     string        `json:"log,omitempty"`
}

// compileUnit returns the CUBIN of one unit, from the cache when present.
func (b *Backend) compileUnit(unit, src string, headers map[string]string, dir string, driver int) ([]byte, CompileResult, error) {
	major, minor, err := b.nv.Version()
	if err != nil {
		return nil, CompileResult{}, fmt.Errorf("cuda: NVRTC version: %w", err)
	}
	arch := b.info.Arch()
	opts := compileOptions(arch, major, minor, true)
	key := cacheKey(unit, src, headers, opts, fmt.Sprintf("%d.%d", major, minor), driver)
	res := CompileResult{Unit: unit}
	path := ""
	if dir != "" {
		path = filepath.Join(dir, key+".cubin")
		if bin, err := os.ReadFile(path); err == nil && len(bin) > 0 {
			res.Cached, res.Bytes = true, len(bin)
			return bin, res, nil
		}
	}
	start := time.Now()
	hs := nvrtcHeaders(headers)
	out, err := b.nv.Compile(unit, src, hs, opts)
	if err != nil && len(opts) > 0 && opts[len(opts)-1] == "--minimal" {
		// Retry without --minimal: an NVRTC that rejects the option, or a
		// kernel that needs a header --minimal leaves out.
		opts = compileOptions(arch, major, minor, false)
		out, err = b.nv.Compile(unit, src, hs, opts)
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		return nil, res, fmt.Errorf("cuda: compile %s for %s: %w", unit, arch, err)
	}
	res.Log = out.Log
	bin := out.CUBIN
	if bin == nil {
		bin = out.PTX
	}
	res.Bytes = len(bin)
	if path != "" {
		if err := writeAtomic(path, bin); err != nil {
			b.log.Warn("cuda kernel cache not written", "path", path, "err", err)
		}
	}
	return bin, res, nil
}

// nvrtcHeaders lists the kernels' headers for NVRTC in name order, so
// every compile sees them the same way.
func nvrtcHeaders(headers map[string]string) []nvrtc.Header {
	hs := make([]nvrtc.Header, 0, len(headers))
	for n, s := range headers {
		hs = append(hs, nvrtc.Header{Name: n, Source: s})
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
	return hs
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// optionalUnits are kernel units the backend can run without: a compile
// failure there disables a fast path instead of failing Open.
var optionalUnits = map[string]bool{"gemm.cu": true}

// UnitErrors reports optional kernel units that failed to compile (nil
// when every unit is loaded).
func (b *Backend) UnitErrors() map[string]error { return b.unitErrs }

// loadKernels compiles every unit, loads the modules and resolves every
// kernel the launch metadata names.
func (b *Backend) loadKernels(cacheOpt string) error {
	start := time.Now()
	metas, err := native.Kernels()
	if err != nil {
		return err
	}
	b.metas = metas
	headers, err := native.Headers()
	if err != nil {
		return err
	}
	units, err := native.Units()
	if err != nil {
		return err
	}
	driver, err := b.drv.DriverVersion()
	if err != nil {
		return fmt.Errorf("cuda: driver version: %w", err)
	}
	dir := cacheDir(cacheOpt)
	for _, u := range units {
		src, err := fs.ReadFile(native.FS(), u)
		if err != nil {
			return fmt.Errorf("cuda: read kernel unit %s: %w", u, err)
		}
		bin, res, err := b.compileUnit(u, string(src), headers, dir, driver)
		if err != nil {
			if optionalUnits[u] {
				// The backend works without it (a fast path is disabled):
				// say so once and go on.
				b.log.Warn("cuda: optional kernels unavailable", "unit", u, "err", err)
				b.unitErrs[u] = err
				continue
			}
			return err
		}
		b.log.Debug("cuda kernels compiled", "unit", u, "cached", res.Cached, "dur_ms", res.Elapsed.Milliseconds(), "bytes", res.Bytes)
		mod, err := b.drv.ModuleLoadData(bin)
		if err != nil {
			return fmt.Errorf("cuda: load module %s: %w", u, err)
		}
		b.mods = append(b.mods, mod)
		for name, meta := range metas {
			if meta.Unit != u {
				continue
			}
			fn, err := b.drv.ModuleGetFunction(mod, name)
			if err != nil {
				return fmt.Errorf("cuda: module %s: %w", u, err)
			}
			b.fns[name] = kernelFunc{fn: fn, meta: meta}
		}
	}
	b.compileMS = float64(time.Since(start).Microseconds()) / 1000
	return nil
}
