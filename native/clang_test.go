package native

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// TestKernelsCompileAsCUDA compiles every kernel unit as CUDA device code
// for sm_80 with clang's CUDA front end (testdata/clangcuda/nvrtc_prelude.h
// stands in for NVRTC's built-in declarations) and checks the PTX against
// the launch metadata the Go side packs arguments from: the same extern "C"
// entry names per unit, the same parameter count and widths, the
// __launch_bounds__ block size as .maxntid, and at most 48 KiB of static
// shared memory per kernel. The host-C++ emulator (TestKernelsOnCPU)
// cannot see device-only mistakes such as a host function called from
// device code or a missing qualifier; this test can. It does not replace
// NVRTC and ptxas on a GPU machine: inline PTX is passed through unchecked.
func TestKernelsCompileAsCUDA(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles every kernel unit with clang (about 10 s): skipped with -short")
	}
	clang := findCUDAClang(t)
	prelude, err := filepath.Abs("testdata/clangcuda/nvrtc_prelude.h")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, FS()); err != nil {
		t.Fatal(err)
	}
	metas, err := Kernels()
	if err != nil {
		t.Fatal(err)
	}
	units, err := Units()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		t.Run(u, func(t *testing.T) {
			ptx := filepath.Join(dir, strings.TrimSuffix(u, ".cu")+".ptx")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, clang, "-x", "cuda", "--cuda-device-only", "--cuda-gpu-arch=sm_80",
				"-nocudainc", "-nocudalib", "-Xclang", "-target-feature", "-Xclang", "+ptx70",
				"-std=c++17", "-O2", "-Wall", "-Werror", "-include", prelude, "-I", dir,
				"-S", "-o", ptx, filepath.Join(dir, u))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("clang: %v\n%s", err, out)
			}
			src, err := os.ReadFile(ptx)
			if err != nil {
				t.Fatal(err)
			}
			entries := parsePTX(string(src))
			var want []string
			for name, m := range metas {
				if m.Unit == u {
					want = append(want, name)
				}
			}
			sort.Strings(want)
			var got []string
			for name := range entries {
				got = append(got, name)
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("PTX entries %v, launch metadata %v (a kernel not extern \"C\", or one the parser missed)", got, want)
			}
			for _, name := range want {
				m, e := metas[name], entries[name]
				if len(e.params) != len(m.Params) {
					t.Errorf("%s: PTX has %d parameters, metadata %d", name, len(e.params), len(m.Params))
					continue
				}
				for i, p := range m.Params {
					if w := ptxParamType(p.Kind); e.params[i] != w && !(w == ".u32" && e.params[i] == ".s32") {
						t.Errorf("%s parameter %d (%s %s): PTX %s, want %s", name, i, p.Type, p.Name, e.params[i], w)
					}
				}
				if e.maxntid != m.MaxThreads {
					t.Errorf("%s: .maxntid %d, __launch_bounds__ in metadata %d", name, e.maxntid, m.MaxThreads)
				}
				t.Logf("%s: %d parameters, %d threads, %d B static shared", name, len(e.params), e.maxntid, e.shared)
				if e.shared > 48<<10 {
					t.Errorf("%s: %d bytes of static shared memory, over the 48 KiB static limit", name, e.shared)
				}
			}
		})
	}
}

// findCUDAClang returns a clang that can target NVPTX, or skips.
func findCUDAClang(t *testing.T) string {
	t.Helper()
	for _, c := range []string{os.Getenv("CUDA_CLANG"), "clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14"} {
		if c == "" {
			continue
		}
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		out, err := exec.Command(p, "-print-targets").Output()
		if err == nil && strings.Contains(string(out), "nvptx64") {
			return p
		}
	}
	testenv.Missing(t, "no clang with the NVPTX target (apt-get install clang-14, or set CUDA_CLANG) to compile the kernels as CUDA")
	return ""
}

// ptxParamType is the .param type clang emits for a parameter kind.
func ptxParamType(k Kind) string {
	switch k {
	case Ptr, U64, I64:
		return ".u64"
	case F32:
		return ".f32"
	default:
		return ".u32"
	}
}

type ptxEntry struct {
	params  []string // .param types in order
	maxntid int
	shared  int // bytes of the module's .shared variables this entry references
}

var (
	ptxEntryRE  = regexp.MustCompile(`(?m)^\.visible \.entry ([A-Za-z_][A-Za-z0-9_]*)\(`)
	ptxParamRE  = regexp.MustCompile(`\.param (\.[a-z0-9]+) `)
	ptxSharedRE = regexp.MustCompile(`(?m)^\s*(?:\.weak |\.global )?\.shared \.align \d+ \.b8 ([A-Za-z0-9_$]+)\[(\d+)\];`)
	ptxNtidRE   = regexp.MustCompile(`\.maxntid (\d+), 1, 1`)
)

// parsePTX reads the entries of one PTX module: parameter types, the block
// size bound and the static shared memory each entry body references.
func parsePTX(src string) map[string]ptxEntry {
	shared := map[string]int{}
	for _, m := range ptxSharedRE.FindAllStringSubmatch(src, -1) {
		n, _ := strconv.Atoi(m[2])
		shared[m[1]] = n
	}
	out := map[string]ptxEntry{}
	locs := ptxEntryRE.FindAllStringSubmatchIndex(src, -1)
	for i, l := range locs {
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body := src[l[0]:end]
		var e ptxEntry
		sig := body[:strings.Index(body, ")")]
		for _, m := range ptxParamRE.FindAllStringSubmatch(sig, -1) {
			e.params = append(e.params, m[1])
		}
		if m := ptxNtidRE.FindStringSubmatch(body); m != nil {
			e.maxntid, _ = strconv.Atoi(m[1])
		}
		for name, n := range shared {
			if strings.Contains(body, name) {
				e.shared += n
			}
		}
		out[src[l[2]:l[3]]] = e
	}
	return out
}
