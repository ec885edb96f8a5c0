package cuda

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/native"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/nvrtc"
)

var updateResources = flag.Bool("update-resources", false, "rewrite testdata/kernel_resources.md from NVRTC's ptxas report")

// nvrtcArchs are the GPUs the compile check covers: A100/A30 (sm_80),
// consumer and workstation Ampere (sm_86), Ada (sm_89), Hopper (sm_90).
var nvrtcArchs = []string{"sm_80", "sm_86", "sm_89", "sm_90"}

// fetchedNVRTC is where scripts/fetch-nvrtc.sh unpacks Debian's CUDA 11.8
// NVRTC (relative to this package).
const fetchedNVRTC = ".nvrtc/root/usr/lib"

const resourcesGolden = "testdata/kernel_resources.md"

// TestKernelsCompileWithNVRTC is the GPU path's compile step without a GPU:
// Debian's CUDA 11.8 NVRTC, found by the backend's own discovery and bound
// through its purego bindings, compiles every kernel unit with the
// backend's options to a CUBIN for each of nvrtcArchs. It checks each
// CUBIN (an NVIDIA ELF for that arch holding exactly the unit's kernels,
// with the launch bounds as max threads), reads the resources every kernel
// uses from ptxas's verbose report, checks them against the ELF's own
// records and against the per-block launch limits, and compares the table
// with testdata/kernel_resources.md, so a kernel change that raises
// registers or adds spills shows in the diff.
func TestKernelsCompileWithNVRTC(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles every kernel unit for 4 architectures with NVRTC (about 20 CPU-seconds): skipped with -short")
	}
	dirs, _ := filepath.Glob(filepath.Join(fetchedNVRTC, "*"))
	dir := ""
	for _, d := range dirs {
		if m, _ := filepath.Glob(filepath.Join(d, "libnvrtc.so.*")); len(m) > 0 {
			dir = d
		}
	}
	if dir == "" {
		testenv.Missing(t, "no CUDA NVRTC under runtime/backend/cuda/.nvrtc/ (bash scripts/fetch-nvrtc.sh unpacks Debian's libnvrtc11.2 there)")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	nv := openFetchedNVRTC(t, dir)
	major, minor, err := nv.Version()
	if err != nil {
		t.Fatal(err)
	}
	supported, err := nv.SupportedArchs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range nvrtcArchs {
		n, _ := strconv.Atoi(strings.TrimPrefix(a, "sm_"))
		if !slices.Contains(supported, n) {
			t.Fatalf("NVRTC %d.%d supports %v, not %s", major, minor, supported, a)
		}
	}

	metas, err := native.Kernels()
	if err != nil {
		t.Fatal(err)
	}
	headers, err := native.Headers()
	if err != nil {
		t.Fatal(err)
	}
	hs := nvrtcHeaders(headers)
	units, err := native.Units()
	if err != nil {
		t.Fatal(err)
	}
	if len(units) == 0 {
		t.Fatal("no kernel units embedded")
	}

	// table[kernel][arch index]
	table := map[string][]kernelResources{}
	ran := 0
	for ai, arch := range nvrtcArchs {
		t.Run(arch, func(t *testing.T) {
			ran++
			compileArch(t, nv, major, minor, arch, units, hs, metas, func(name string, r kernelResources) {
				if table[name] == nil {
					table[name] = make([]kernelResources, len(nvrtcArchs))
				}
				table[name][ai] = r
			})
		})
	}
	if t.Failed() {
		return
	}
	if ran < len(nvrtcArchs) {
		t.Logf("%d of %d architectures compiled (-run): %s not compared", ran, len(nvrtcArchs), resourcesGolden)
		return
	}
	got := resourceTable(major, minor, metas, table)
	if *updateResources {
		if err := os.WriteFile(resourcesGolden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(resourcesGolden)
	if err != nil {
		t.Fatalf("%v (write it with -update-resources)", err)
	}
	if string(want) != got {
		t.Errorf("kernel resources differ from %s (rerun with -update-resources after checking the change):\n%s", resourcesGolden, lineDiff(string(want), got))
	}
}

// compileArch compiles every unit for arch with the backend's options plus
// ptxas's report, checks each CUBIN and hands over each kernel's resources.
func compileArch(t *testing.T, nv *nvrtc.NVRTC, wantMajor, wantMinor int, arch string, units []string, hs []nvrtc.Header, metas map[string]native.Kernel, record func(string, kernelResources)) {
	// Asked again on this goroutine's fresh stack: the bindings must not
	// lose results written through pointers when the stack moves (with the
	// go:uintptrescapes missing on nvrtc's call, this read back 0.0).
	major, minor, err := nv.Version()
	if err != nil {
		t.Fatal(err)
	}
	if major != wantMajor || minor != wantMinor {
		t.Fatalf("nvrtcVersion = %d.%d here, %d.%d on the test's goroutine", major, minor, wantMajor, wantMinor)
	}
	opts := append(compileOptions(arch, major, minor, true), "--ptxas-options=-v")
	start := time.Now()
	var cubinBytes, kernels int
	for _, u := range units {
		src, err := fs.ReadFile(native.FS(), u)
		if err != nil {
			t.Fatal(err)
		}
		out, err := nv.Compile(u, string(src), hs, opts)
		if err != nil {
			t.Errorf("%s (NVRTC %d.%d, %s): %v", u, major, minor, strings.Join(opts, " "), err)
			continue
		}
		if len(out.CUBIN) == 0 {
			t.Errorf("%s: no CUBIN (PTX %d bytes)", u, len(out.PTX))
			continue
		}
		cubinBytes += len(out.CUBIN)
		want := map[string]native.Kernel{}
		for n, k := range metas {
			if k.Unit == u {
				want[n] = k
			}
		}
		res, err := checkUnit(arch, out, want)
		if err != nil {
			t.Errorf("%s: %v\nptxas log:\n%s", u, err, out.Log)
			continue
		}
		for n, r := range res {
			record(n, r)
			kernels++
		}
	}
	t.Logf("%d units, %d kernels, %d bytes of CUBIN in %v (NVRTC %d.%d, %s)", len(units), kernels, cubinBytes,
		time.Since(start).Round(time.Millisecond), major, minor, strings.Join(opts, " "))
}

// openFetchedNVRTC loads libnvrtc from dir the way Open does: the
// DREAM_CUDA_LIBS candidates first, then the builtins preloaded from the
// same directory.
func openFetchedNVRTC(t *testing.T, dir string) *nvrtc.NVRTC {
	t.Helper()
	env := searchEnv{getenv: func(k string) string {
		if k == EnvLibs {
			return dir
		}
		return ""
	}}
	cands := env.candidates(libNVRTC)
	if len(cands) == 0 || filepath.Dir(cands[0]) != dir {
		t.Fatalf("discovery with %s=%s: first candidates %v, want a file in that directory", EnvLibs, dir, cands)
	}
	lib, err := opener(env.real(cands[0]))
	if err != nil {
		t.Fatalf("open %s: %v", cands[0], err)
	}
	preloadBuiltins(env, cands[0])
	nv, err := nvrtc.Load(lib)
	if err != nil {
		t.Fatal(err)
	}
	return nv
}

// kernelResources is what ptxas reports for one kernel on one arch.
type kernelResources struct {
	Regs        int // registers per thread
	Smem        int // static shared memory per block, bytes
	Stack       int // stack frame per thread, bytes
	SpillStores int // bytes
	SpillLoads  int // bytes
}

var (
	reEntry = regexp.MustCompile(`Compiling entry function '([A-Za-z_][A-Za-z0-9_]*)' for '(sm_\d+)'`)
	reProps = regexp.MustCompile(`Function properties for ([A-Za-z_][A-Za-z0-9_]*)`)
	reFrame = regexp.MustCompile(`(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads`)
	reUsed  = regexp.MustCompile(`Used (\d+) registers(?:, (\d+) bytes smem)?`)
)

// parsePtxasLog reads ptxas's verbose report (-v) from an NVRTC program
// log: per entry function, "Compiling entry function", then "Function
// properties" with the stack frame and spills, then "Used N registers, M
// bytes smem". Properties of called non-entry functions are skipped.
func parsePtxasLog(log, arch string) (map[string]kernelResources, error) {
	out := map[string]kernelResources{}
	seenFrame := map[string]bool{}
	entry, props := "", ""
	for _, line := range strings.Split(log, "\n") {
		if m := reEntry.FindStringSubmatch(line); m != nil {
			if m[2] != arch {
				return nil, fmt.Errorf("ptxas compiled %s for %s, want %s", m[1], m[2], arch)
			}
			entry, props = m[1], ""
			if _, dup := out[entry]; dup {
				return nil, fmt.Errorf("entry %s reported twice", entry)
			}
			out[entry] = kernelResources{Regs: -1}
			continue
		}
		if m := reProps.FindStringSubmatch(line); m != nil {
			props = m[1]
			continue
		}
		if m := reFrame.FindStringSubmatch(line); m != nil {
			if props != "" && props == entry {
				r := out[entry]
				r.Stack, r.SpillStores, r.SpillLoads = atoi(m[1]), atoi(m[2]), atoi(m[3])
				out[entry] = r
				seenFrame[entry] = true
			}
			continue
		}
		if m := reUsed.FindStringSubmatch(line); m != nil {
			if entry == "" {
				return nil, fmt.Errorf("%q before any entry function", strings.TrimSpace(line))
			}
			r := out[entry]
			r.Regs = atoi(m[1])
			if m[2] != "" {
				r.Smem = atoi(m[2])
			}
			out[entry] = r
		}
	}
	for n, r := range out {
		if r.Regs < 0 || !seenFrame[n] {
			return nil, fmt.Errorf("entry %s: no register count or no stack/spill line in the ptxas report", n)
		}
	}
	return out, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// CUDA ELF records (.nv.info sections) that the checks read; the values are
// those of cuobjdump's EIATTR names.
const (
	eiattrFrameSize  = 0x11 // per function: stack frame bytes
	eiattrRegCount   = 0x2f // per function: registers per thread
	eiattrMaxThreads = 0x05 // in .nv.info.<kernel>: __launch_bounds__ as x, y, z
	eiattrParamSize  = 0x19 // in .nv.info.<kernel>: the parameter bank's size in bytes (CBANK_PARAM_SIZE)
	eiattrParamInfo  = 0x17 // in .nv.info.<kernel>: one per parameter: ordinal, offset, size (KPARAM_INFO)
)

// cubinInfo is what the ELF itself says about each kernel.
type cubinInfo struct {
	arch    int // the SM number in e_flags
	kernels map[string]elfKernel
}

type elfKernel struct {
	regs, frame, maxThreads, shared int
	paramSize                       int              // -1 when the CUBIN has no record
	params                          map[int]elfParam // by ordinal
}

// elfParam is one KPARAM_INFO record: where the kernel reads a parameter.
type elfParam struct{ offset, size int }

// readCUBIN parses a CUBIN: an ELF64 for EM_CUDA, one .text.<name> section
// per kernel (a global function symbol), the register count and frame size
// in the .nv.info records keyed by symbol index, the launch bounds in
// .nv.info.<name>, static shared memory as the size of .nv.shared.<name>.
func readCUBIN(bin []byte) (*cubinInfo, error) {
	if len(bin) < 64 {
		return nil, fmt.Errorf("%d bytes, shorter than an ELF64 header", len(bin))
	}
	// NVIDIA puts the CUDA version in e_version (118 for 11.8), which
	// debug/elf rejects unless it is 1 (EV_CURRENT): parse a copy with it set.
	fixed := bytes.Clone(bin)
	binary.LittleEndian.PutUint32(fixed[20:24], 1)
	f, err := elf.NewFile(bytes.NewReader(fixed))
	if err != nil {
		return nil, fmt.Errorf("not an ELF: %w", err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_CUDA {
		return nil, fmt.Errorf("ELF class %v machine %v, want ELFCLASS64 EM_CUDA", f.Class, f.Machine)
	}
	info := &cubinInfo{arch: int(binary.LittleEndian.Uint32(bin[48:52]) & 0xff), kernels: map[string]elfKernel{}}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbols: %w", err)
	}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || elf.ST_BIND(s.Info) != elf.STB_GLOBAL || int(s.Section) >= len(f.Sections) {
			continue
		}
		if f.Sections[s.Section].Name == ".text."+s.Name {
			info.kernels[s.Name] = elfKernel{regs: -1, frame: -1, paramSize: -1, params: map[int]elfParam{}}
		}
	}
	for _, sec := range f.Sections {
		switch {
		case sec.Name == ".nv.info":
			data, err := sec.Data()
			if err != nil {
				return nil, err
			}
			err = eachAttr(data, func(attr byte, val []byte) error {
				if (attr != eiattrRegCount && attr != eiattrFrameSize) || len(val) != 8 {
					return nil
				}
				idx := int(binary.LittleEndian.Uint32(val))
				v := int(binary.LittleEndian.Uint32(val[4:]))
				if idx < 1 || idx > len(syms) {
					return fmt.Errorf(".nv.info: symbol index %d out of range", idx)
				}
				k, ok := info.kernels[syms[idx-1].Name] // debug/elf drops the null symbol 0
				if !ok {
					return nil
				}
				if attr == eiattrRegCount {
					k.regs = v
				} else {
					k.frame = v
				}
				info.kernels[syms[idx-1].Name] = k
				return nil
			})
			if err != nil {
				return nil, err
			}
		case strings.HasPrefix(sec.Name, ".nv.info."):
			name := strings.TrimPrefix(sec.Name, ".nv.info.")
			k, ok := info.kernels[name]
			if !ok {
				continue
			}
			data, err := sec.Data()
			if err != nil {
				return nil, err
			}
			err = eachAttr(data, func(attr byte, val []byte) error {
				le := binary.LittleEndian
				switch {
				case attr == eiattrMaxThreads && len(val) == 12:
					k.maxThreads = int(le.Uint32(val)) * int(le.Uint32(val[4:])) * int(le.Uint32(val[8:]))
				case attr == eiattrParamSize && len(val) == 2:
					k.paramSize = int(le.Uint16(val))
				case attr == eiattrParamInfo && len(val) == 12:
					// index (4 bytes), ordinal (2), offset (2), then flags
					// with the size in bytes in bits 18-31.
					k.params[int(le.Uint16(val[4:]))] = elfParam{offset: int(le.Uint16(val[6:])), size: int(le.Uint32(val[8:]) >> 18)}
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sec.Name, err)
			}
			info.kernels[name] = k
		case strings.HasPrefix(sec.Name, ".nv.shared."):
			name := strings.TrimPrefix(sec.Name, ".nv.shared.")
			if k, ok := info.kernels[name]; ok {
				k.shared = int(sec.Size)
				info.kernels[name] = k
			}
		}
	}
	return info, nil
}

// eachAttr walks .nv.info records: a format byte, an attribute byte, then
// a 2-byte value (formats 1-3) or a 2-byte size and that many bytes (4).
func eachAttr(data []byte, fn func(attr byte, val []byte) error) error {
	for i := 0; i < len(data); {
		if i+4 > len(data) {
			return fmt.Errorf("record at %d truncated", i)
		}
		format, attr := data[i], data[i+1]
		switch format {
		case 1, 2, 3:
			if err := fn(attr, data[i+2:i+4]); err != nil {
				return err
			}
			i += 4
		case 4:
			n := int(binary.LittleEndian.Uint16(data[i+2:]))
			if i+4+n > len(data) {
				return fmt.Errorf("record at %d: %d bytes past the end", i, n)
			}
			if err := fn(attr, data[i+4:i+4+n]); err != nil {
				return err
			}
			i += 4 + n
		default:
			return fmt.Errorf("record at %d: unknown format %d", i, format)
		}
	}
	return nil
}

// Launch limits shared by sm_80 to sm_90: 64 Ki registers per block,
// allocated per warp in units of 256; 48 KiB of static shared memory.
const (
	regsPerBlock  = 64 * 1024
	regAllocUnit  = 256
	staticSmemMax = 48 * 1024
	// For sm_90 CUBINs, NVRTC 11.8 counts the 1 KiB of shared memory the
	// hardware reserves per block in .nv.shared.<kernel>; ptxas's report
	// does not (for sm_80 to sm_89 both give the kernel's own bytes).
	reservedSmemSM90 = 1024
)

// checkUnit checks one compiled unit and returns each kernel's resources.
func checkUnit(arch string, out *nvrtc.Output, want map[string]native.Kernel) (map[string]kernelResources, error) {
	// The units compile cleanly: a warning from the front end or ptxas
	// (for example a launch bound ptxas cannot honour) is a failure.
	for _, line := range strings.Split(out.Log, "\n") {
		if strings.Contains(strings.ToLower(line), "warning") {
			return nil, fmt.Errorf("compiler warning: %s", strings.TrimSpace(line))
		}
	}
	res, err := parsePtxasLog(out.Log, arch)
	if err != nil {
		return nil, err
	}
	info, err := readCUBIN(out.CUBIN)
	if err != nil {
		return nil, err
	}
	if a := "sm_" + strconv.Itoa(info.arch); a != arch {
		return nil, fmt.Errorf("CUBIN is for %s", a)
	}
	if g, w := slices.Sorted(maps.Keys(info.kernels)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		return nil, fmt.Errorf("CUBIN kernels %v, launch metadata %v", g, w)
	}
	if g, w := slices.Sorted(maps.Keys(res)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		return nil, fmt.Errorf("ptxas reported kernels %v, launch metadata %v", g, w)
	}
	var errs []string
	for name, k := range want {
		r, e := res[name], info.kernels[name]
		if e.regs != r.Regs || e.frame != r.Stack {
			errs = append(errs, fmt.Sprintf("%s: ELF says %d registers, %d bytes frame; ptxas %d, %d", name, e.regs, e.frame, r.Regs, r.Stack))
		}
		// The driver checks the launch's parameter block against the
		// kernel's parameter bank: the packed size and every offset must be
		// the CUBIN's (a block padded past it fails to launch on CUDA 13).
		if e.paramSize != k.ArgsSize() {
			errs = append(errs, fmt.Sprintf("%s: CUBIN parameter bank %d bytes, Pack writes %d", name, e.paramSize, k.ArgsSize()))
		}
		if len(e.params) != len(k.Params) {
			errs = append(errs, fmt.Sprintf("%s: CUBIN lists %d parameters, the signature %d", name, len(e.params), len(k.Params)))
		}
		for i, off := range k.Offsets() {
			if p, size := e.params[i], k.Params[i].Kind.Size(); p != (elfParam{off, size}) {
				errs = append(errs, fmt.Sprintf("%s: parameter %d (%s) at %d, %d bytes in the CUBIN; Pack: %d, %d", name, i, k.Params[i].Name, p.offset, p.size, off, size))
			}
		}
		if e.maxThreads != k.MaxThreads {
			errs = append(errs, fmt.Sprintf("%s: ELF max threads %d, __launch_bounds__ %d", name, e.maxThreads, k.MaxThreads))
		}
		if wantShared := r.Smem; e.shared != wantShared && !(info.arch >= 90 && r.Smem > 0 && e.shared == r.Smem+reservedSmemSM90) {
			errs = append(errs, fmt.Sprintf("%s: .nv.shared is %d bytes, ptxas reports %d bytes smem", name, e.shared, r.Smem))
		}
		warps := (k.MaxThreads + 31) / 32
		perWarp := (r.Regs*32 + regAllocUnit - 1) / regAllocUnit * regAllocUnit
		if warps*perWarp > regsPerBlock {
			errs = append(errs, fmt.Sprintf("%s: %d registers × %d threads exceed the %d registers of a block: the launch would fail", name, r.Regs, k.MaxThreads, regsPerBlock))
		}
		if r.Smem > staticSmemMax {
			errs = append(errs, fmt.Sprintf("%s: %d bytes of static shared memory, over %d", name, r.Smem, staticSmemMax))
		}
	}
	sort.Strings(errs)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return res, nil
}

// resourceTable renders the golden file: one row per kernel, registers per
// arch, and the other columns once when every arch agrees.
func resourceTable(major, minor int, metas map[string]native.Kernel, table map[string][]kernelResources) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- Generated by TestKernelsCompileWithNVRTC (runtime/backend/cuda/nvrtc_cubin_test.go); after a kernel change:\n")
	fmt.Fprintf(&b, "     bash scripts/fetch-nvrtc.sh && go test ./runtime/backend/cuda -run TestKernelsCompileWithNVRTC -update-resources -->\n\n")
	fmt.Fprintf(&b, "# Kernel resources (NVRTC %d.%d, ptxas -v)\n\n", major, minor)
	fmt.Fprintf(&b, "Per thread: registers and stack frame; per block: static shared memory (without the 1 KiB the hardware reserves).\n")
	fmt.Fprintf(&b, "Registers, and any column where the architectures differ, read %s.\n\n", strings.Join(nvrtcArchs, "/"))
	fmt.Fprintf(&b, "| unit | kernel | block | registers | smem B | stack B | spill stores B | spill loads B |\n")
	fmt.Fprintf(&b, "|---|---|---:|---|---|---|---|---|\n")
	names := slices.Sorted(maps.Keys(table))
	sort.SliceStable(names, func(i, j int) bool { return metas[names[i]].Unit < metas[names[j]].Unit })
	for _, n := range names {
		rs := table[n]
		col := func(f func(kernelResources) int, always bool) string {
			vals := make([]string, len(rs))
			same := true
			for i, r := range rs {
				vals[i] = strconv.Itoa(f(r))
				same = same && vals[i] == vals[0]
			}
			if same && !always {
				return vals[0]
			}
			return strings.Join(vals, "/")
		}
		fmt.Fprintf(&b, "| %s | `%s` | %d | %s | %s | %s | %s | %s |\n", metas[n].Unit, n, metas[n].MaxThreads,
			col(func(r kernelResources) int { return r.Regs }, true),
			col(func(r kernelResources) int { return r.Smem }, false),
			col(func(r kernelResources) int { return r.Stack }, false),
			col(func(r kernelResources) int { return r.SpillStores }, false),
			col(func(r kernelResources) int { return r.SpillLoads }, false))
	}
	return b.String()
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// TestParsePtxasLog reads ptxas reports in the shapes NVRTC 11.8 prints
// (sm_80 lists smem and cmem, sm_90 only what is non-zero; called
// functions get their own properties) and rejects incomplete ones.
func TestParsePtxasLog(t *testing.T) {
	const sm80 = `ptxas info    : 296 bytes gmem
ptxas info    : Compiling entry function 'rope_f32' for 'sm_80'
ptxas info    : Function properties for rope_f32
ptxas         .     48 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 40 registers, 384 bytes cmem[0], 208 bytes cmem[2]
ptxas info    : Function properties for __internal_accurate_pow
ptxas         .     8 bytes stack frame, 12 bytes spill stores, 16 bytes spill loads
ptxas info    : Compiling entry function 'attention' for 'sm_80'
ptxas info    : Function properties for attention
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 75 registers, 36992 bytes smem, 448 bytes cmem[0], 16 bytes cmem[2]
`
	const sm90 = `ptxas info    : Compiling entry function 'attention' for 'sm_90'
ptxas info    : Function properties for attention
ptxas         .     48 bytes stack frame, 50 bytes spill stores, 60 bytes spill loads
ptxas info    : Used 80 registers, 36992 bytes smem
`
	for _, c := range []struct {
		name, log, arch string
		want            map[string]kernelResources
		err             string
	}{
		{name: "sm_80", log: sm80, arch: "sm_80", want: map[string]kernelResources{
			"rope_f32":  {Regs: 40, Stack: 48},
			"attention": {Regs: 75, Smem: 36992},
		}},
		{name: "sm_90", log: sm90, arch: "sm_90", want: map[string]kernelResources{
			"attention": {Regs: 80, Smem: 36992, Stack: 48, SpillStores: 50, SpillLoads: 60},
		}},
		{name: "empty", log: "", arch: "sm_80", want: map[string]kernelResources{}},
		{name: "other arch", log: sm90, arch: "sm_80", err: "for sm_90, want sm_80"},
		{name: "no registers", log: strings.Split(sm90, "ptxas info    : Used")[0], arch: "sm_90", err: "no register count"},
		{name: "no frame line", log: strings.ReplaceAll(sm90, "48 bytes stack frame", "48 bytes stack"), arch: "sm_90", err: "no stack/spill line"},
		{name: "twice", log: sm90 + sm90, arch: "sm_90", err: "reported twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parsePtxasLog(c.log, c.arch)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestReadCUBINRejects: what is not a 64-bit CUDA ELF is an error, not an
// empty kernel list.
func TestReadCUBINRejects(t *testing.T) {
	x86 := make([]byte, 64)
	copy(x86, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(x86[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(x86[18:], uint16(elf.EM_X86_64))
	binary.LittleEndian.PutUint32(x86[20:], 1)
	binary.LittleEndian.PutUint16(x86[52:], 64)
	for _, c := range []struct {
		name string
		bin  []byte
		err  string
	}{
		{"short", []byte("\x7fELF"), "shorter than an ELF64 header"},
		{"PTX", append([]byte("//\n// Generated by NVIDIA NVVM Compiler\n.version 7.8\n"), make([]byte, 64)...), "not an ELF"},
		{"x86-64", x86, "EM_CUDA"},
	} {
		if _, err := readCUBIN(c.bin); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.err)
		}
	}
}
