package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda"
)

// doctorReport is what `dream-lsp doctor --json` prints.
type doctorReport struct {
	OS      string      `json:"os"`
	Arch    string      `json:"arch"`
	CPUs    int         `json:"cpus"`
	Device  string      `json:"device"`  // the requested device: auto, cpu or cuda
	Backend string      `json:"backend"` // what the server would use: cpu or cuda
	Why     string      `json:"why"`     // one sentence
	CUDA    cuda.Report `json:"cuda"`
	// CPUKernels names the CPU backend's matmul kernels (avx512, avx2,
	// go); BF16Matmul whether --matmul bf16 (AMX tiles) can run here.
	CPUKernels string `json:"cpu_kernels"`
	BF16Matmul bool   `json:"bf16_matmul"`
	// Open is filled by --open: the result of actually opening the CUDA
	// backend (which compiles the kernels).
	Open *doctorOpen `json:"open,omitempty"`
}

type doctorOpen struct {
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	ElapsedMS float64 `json:"elapsed_ms"`
	// OptionalKernels lists optional kernel units that failed to compile
	// (the backend works; a fast path is off).
	OptionalKernels map[string]string `json:"optional_kernel_errors,omitempty"`
}

// runDoctor reports the GPU, driver and libraries found, and which backend
// the server would use and why.
func runDoctor(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON document")
	device := fs.String("device", "auto", "device setting to evaluate: auto, cpu or cuda")
	open := fs.Bool("open", false, "also open the CUDA backend (compiles the kernels; needs a GPU)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp doctor [--json] [--device auto|cpu|cuda] [--open]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Reports the GPU, the CUDA driver and libraries found (or why not), and the")
		fmt.Fprintf(stderr, "backend the server would use. %s overrides the library search path.\n\n", cuda.EnvLibs)
		fs.PrintDefaults()
	}
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	switch *device {
	case "auto", "cpu", "cuda":
	default:
		return fmt.Errorf("%w: --device %q: want auto, cpu or cuda", errUsage, *device)
	}
	rep := doctorReport{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Device: *device, CUDA: cuda.Probe(), CPUKernels: cpu.Kernels(), BF16Matmul: cpu.AMXAvailable()}
	rep.Backend, rep.Why = chooseBackend(*device, rep.CUDA)
	if *open {
		start := time.Now()
		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		b, err := cuda.Open(cuda.Options{Logger: log})
		rep.Open = &doctorOpen{OK: err == nil, ElapsedMS: float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			rep.Open.Error = err.Error()
			if rep.Backend == "cuda" {
				rep.Backend = "cpu"
				rep.Why = "the CUDA backend failed to open: " + err.Error()
			}
		} else {
			for u, uerr := range b.UnitErrors() {
				if rep.Open.OptionalKernels == nil {
					rep.Open.OptionalKernels = map[string]string{}
				}
				rep.Open.OptionalKernels[u] = uerr.Error()
			}
			if cerr := b.Close(); cerr != nil {
				rep.Open.Error = "close: " + cerr.Error()
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printDoctor(stdout, rep)
	return nil
}

// chooseBackend applies the server's rule: cuda when asked for or when
// auto finds a usable GPU, otherwise cpu, with the reason.
func chooseBackend(device string, r cuda.Report) (backend, why string) {
	switch device {
	case "cpu":
		return "cpu", "the device setting is cpu"
	case "cuda":
		if r.Usable {
			return "cuda", "the device setting is cuda and a usable GPU was found"
		}
		return "cpu", "the device setting is cuda but CUDA is unavailable (" + r.Reason + "); the server falls back to the CPU"
	}
	if r.Usable {
		return "cuda", fmt.Sprintf("a usable GPU was found (%s)", r.Devices[0].Name)
	}
	return "cpu", "no usable GPU: " + r.Reason
}

func printDoctor(w io.Writer, r doctorReport) {
	fmt.Fprintf(w, "system:   %s/%s, %d CPUs\n", r.OS, r.Arch, r.CPUs)
	amx := "--matmul bf16 not available (needs AMX-BF16, Intel Xeon 4th generation or later with Linux, or AVX512-BF16, AMD Zen 4 or later): float32 matmuls"
	if r.BF16Matmul {
		how := "AMX-BF16 tiles"
		if cpu.BF16Kernel() != "amx" {
			how = "AVX512-BF16's VDPBF16PS"
		}
		amx = "--matmul bf16 available (" + how + "), the default here (--matmul auto)"
	}
	fmt.Fprintf(w, "cpu:      %s kernels; %s\n", r.CPUKernels, amx)
	if len(r.CUDA.Devices) == 0 {
		fmt.Fprintln(w, "gpu:      none found")
	}
	for _, d := range r.CUDA.Devices {
		fmt.Fprintf(w, "gpu %d:    %s, compute %d.%d (%s), %d SMs, %.1f GiB, L2 %d MiB\n", d.Ordinal, d.Name,
			d.ComputeMajor, d.ComputeMinor, d.Arch(), d.SMs, float64(d.MemoryBytes)/(1<<30), d.L2Bytes>>20)
	}
	if r.CUDA.DriverVersion != "" {
		fmt.Fprintf(w, "driver:   CUDA %s\n", r.CUDA.DriverVersion)
	}
	for _, l := range r.CUDA.Libraries {
		switch {
		case l.Found:
			extra := ""
			switch l.Name {
			case "libnvrtc":
				extra = " (NVRTC " + r.CUDA.NVRTCVersion + ")"
			case "libcublasLt":
				extra = fmt.Sprintf(" (version %d)", r.CUDA.CublasLtVersion)
			}
			fmt.Fprintf(w, "%-12s found: %s%s\n", l.Name+":", l.Path, extra)
			if l.Error != "" {
				fmt.Fprintf(w, "%-12s but unusable: %s\n", "", l.Error)
			}
		default:
			fmt.Fprintf(w, "%-12s missing: %s\n", l.Name+":", l.Error)
			if len(l.Tried) > 0 {
				fmt.Fprintf(w, "%-12s tried: %s\n", "", strings.Join(l.Tried, ", "))
			}
		}
	}
	if r.Open != nil {
		if r.Open.OK {
			fmt.Fprintf(w, "open:     CUDA backend opened, kernels ready in %.0f ms\n", r.Open.ElapsedMS)
			for u, e := range r.Open.OptionalKernels {
				fmt.Fprintf(w, "          optional kernels %s unavailable: %s\n", u, e)
			}
		} else {
			fmt.Fprintf(w, "open:     failed: %s\n", r.Open.Error)
		}
	}
	fmt.Fprintf(w, "backend:  %s (device=%s): %s\n", r.Backend, r.Device, r.Why)
	if r.Backend == "cpu" && r.Device != "cpu" {
		fmt.Fprintf(w, "hint:     set %s to the directory holding libcuda.so.1, libnvrtc.so.* and libcublasLt.so.*\n", cuda.EnvLibs)
	}
}
