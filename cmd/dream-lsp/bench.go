package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/gguf"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// benchResult is one measured row of `dream-lsp bench`.
type benchResult struct {
	Name      string  `json:"name"`
	Runs      int     `json:"runs"`
	MedianMs  float64 `json:"median_ms"`
	MinMs     float64 `json:"min_ms"`
	CPUMs     float64 `json:"cpu_ms_per_run"` // process CPU time (user+sys) per run, all threads
	GFLOPs    float64 `json:"gflop_per_s,omitempty"`
	GFLOPsCPU float64 `json:"gflop_per_cpu_s,omitempty"`
	// Denoise runs: the steps the last run took (rows stop early when no
	// mask is left) and the process CPU time per step.
	StepsRun     int     `json:"steps_run,omitempty"`
	CPUMsPerStep float64 `json:"cpu_ms_per_step,omitempty"`
}

// benchReport is `dream-lsp bench --json`'s document.
type benchReport struct {
	Model   string `json:"model"`
	Params  int64  `json:"params"`
	Backend string `json:"backend"`
	Threads int    `json:"threads"`
	Tokens  int    `json:"tokens"`
	Masks   int    `json:"masks"`
	Steps   int    `json:"steps"`
	Alg     string `json:"alg"`
	// BlockSize is --block-size (confidence_threshold's blocks; 0: 32).
	BlockSize int     `json:"block_size,omitempty"`
	GOARCH    string  `json:"goarch"`
	NumCPU    int     `json:"num_cpu"`
	LoadMs    float64 `json:"load_ms"`
	// LoadCPUMs is the process CPU time (user+sys) of loading: reading
	// the file and any conversion --weights asks for.
	LoadCPUMs float64 `json:"load_cpu_ms"`
	Weights   string  `json:"weights"`
	// Matmul is how stored-format weights multiply: f32 or bf16 (AMX tiles).
	Matmul string `json:"matmul"`
	// PeakRSSMiB is the process's peak resident set (getrusage maxrss)
	// at the end of the run: weights, activations and load transients.
	PeakRSSMiB float64       `json:"peak_rss_mib"`
	Results    []benchResult `json:"results"`
	Finished   time.Time     `json:"finished"`
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// runBench measures the CPU runtime: one full forward pass over the
// canvas (lm_head on the masked rows only) and a whole denoising run.
func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "model directory or Dream GGUF file (default: a synthetic ~30M-parameter Dream config with random weights)")
	tokens := fs.Int("tokens", 512, "canvas length in tokens")
	masks := fs.Int("masks", 64, "masked slots at the end of the canvas (the logits rows; denoised by the denoise run)")
	steps := fs.Int("steps", 8, "denoising steps of the denoise run (0: skip it)")
	alg := fs.String("alg", "maskgit_plus", "denoising algorithm (origin, maskgit_plus, topk_margin, entropy, confidence_threshold)")
	blockSize := fs.Int("block-size", 0, "confidence_threshold: masked slots per block (0: 32, -1: one block); with --cache the cache refreshes at each new block and block steps recompute only the active block")
	runs := fs.Int("runs", 3, "timed runs of each measurement (after one warm-up)")
	threads := fs.Int("threads", 0, "CPU threads (0: all cores)")
	cacheMode := fs.String("cache", "both", "dual K/V cache for the denoise run: off, on, or both (one row each)")
	refresh := fs.Int("refresh", 0, "with --cache: full forward every N steps (0: the default policy, -1: only the first step)")
	asJSON := fs.Bool("json", false, "print one JSON document instead of a table")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measurements (not the loading) to `FILE` (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile to `FILE` after the measurements: in use then, and (-sample_index=alloc_space) everything the loading and the runs allocated (go tool pprof)")
	shape := fs.String("shape", "30m", "synthetic model without --model: 30m, or qwen0.5b (Dream shaped like Qwen2.5-0.5B, 630M parameters, stored as bf16)")
	weightsArg, matmulArg := "", ""
	weightsFlag(fs, &weightsArg)
	matmulFlag(fs, &matmulArg, engine.MatmulF32)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp bench [--model DIR] [--tokens N] [--masks N] [--steps N] [--alg A] [--block-size N] [--runs N] [--cache off|on|both] [--refresh N] [--json]")
		fmt.Fprintln(stderr, "Measures forward and denoising latency on the CPU backend. GFLOP/s counts the projections,")
		fmt.Fprintln(stderr, "attention and lm_head (model.ForwardFLOPs); GFLOP/cpu-s divides by process CPU time,")
		fmt.Fprintln(stderr, "which stays meaningful on a loaded machine.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *tokens < 2 || *masks < 1 || *masks >= *tokens || *runs < 1 || *steps < 0 {
		return fmt.Errorf("%w: need tokens >= 2, 1 <= masks < tokens, runs >= 1, steps >= 0", errUsage)
	}
	var modes []denoise.CacheOptions
	switch *cacheMode {
	case "off":
		modes = []denoise.CacheOptions{{}}
	case "on":
		modes = []denoise.CacheOptions{{Enabled: true, Policy: kvcache.Policy{Refresh: *refresh}}}
	case "both":
		modes = []denoise.CacheOptions{{}, {Enabled: true, Policy: kvcache.Policy{Refresh: *refresh}}}
	default:
		return fmt.Errorf("%w: --cache %q: want off, on or both", errUsage, *cacheMode)
	}
	wmode, err := parseWeights(weightsArg)
	if err != nil {
		return err
	}
	mm, err := parseMatmul(matmulArg)
	if err != nil {
		return err
	}
	be := cpu.New(*threads)
	switch mm {
	case engine.MatmulBF16:
		if err := be.SetBF16Matmul(true); err != nil {
			return fmt.Errorf("--matmul bf16: %w", err)
		}
	case engine.MatmulAuto:
		be.SetBF16Matmul(true) // refused without AMX: f32
	}
	start, startCPU := time.Now(), cpuSeconds()
	var (
		m    *model.Model
		name string
	)
	lo := model.LoadOptions{Weights: wmode}
	switch {
	case *modelDir == "" && *shape == "30m":
		cfg := model.BenchConfig()
		name = "synthetic-30M"
		m, err = model.LoadWith(cfg, model.RandomSource(cfg, 1), be, lo)
	case *modelDir == "" && *shape == "qwen0.5b":
		cfg := model.Qwen05BConfig()
		name = "synthetic-qwen0.5b"
		m, err = model.LoadWith(cfg, model.RandomBF16Source(cfg, 1), be, lo)
	case *modelDir == "":
		return fmt.Errorf("%w: --shape %q: want 30m or qwen0.5b", errUsage, *shape)
	case gguf.IsGGUF(*modelDir):
		name = *modelDir
		f, gerr := gguf.Open(*modelDir)
		if gerr != nil {
			return gerr
		}
		defer f.Close() // after m.Close: stored weights use the mapping
		cfg, gerr := f.DreamConfig()
		if gerr != nil {
			return gerr
		}
		m, err = model.LoadWith(cfg, f.Source(), be, lo)
	default:
		name = *modelDir
		cfg, ck, lerr := model.LoadDir(*modelDir)
		if lerr != nil {
			return lerr
		}
		defer ck.Close() // after m.Close: stored weights use the mapping
		m, err = model.LoadWith(cfg, model.CheckpointSource(ck), be, lo)
	}
	if err != nil {
		return err
	}
	defer m.Close()
	cfg := m.Config()
	if *tokens > cfg.MaxPositionEmbeddings {
		return fmt.Errorf("%w: --tokens %d exceeds max_position_embeddings %d", errUsage, *tokens, cfg.MaxPositionEmbeddings)
	}
	rep := benchReport{
		Model: name, Params: model.NumParams(cfg), Backend: be.Name(), Threads: be.Threads(),
		Tokens: *tokens, Masks: *masks, Steps: *steps, Alg: *alg, BlockSize: *blockSize,
		GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), LoadMs: ms(time.Since(start)),
		LoadCPUMs: (cpuSeconds() - startCPU) * 1000,
		Weights:   string(wmode),
		Matmul:    "f32",
	}
	if be.BF16Matmul() && cpu.AMXTakes(cpu.WeightFormat(m.LinearWeight())) {
		rep.Matmul = "bf16"
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		defer func() {
			runtime.GC() // the in-use numbers as of the last run, not the last collection
			if err := pprof.WriteHeapProfile(f); err != nil {
				fmt.Fprintf(stderr, "dream-lsp bench: --memprofile: %v\n", err)
			}
			f.Close()
		}()
	}
	rng := rand.New(rand.NewPCG(1, 1))
	ids := make([]int, *tokens)
	var want []int
	for i := range ids {
		ids[i] = rng.IntN(min(cfg.VocabSize, 150000))
		if ids[i] == cfg.MaskTokenID {
			ids[i] = 0
		}
		if i >= *tokens-*masks {
			ids[i] = cfg.MaskTokenID
			want = append(want, i)
		}
	}
	measure := func(name string, flops float64, fn func() error) error {
		if err := fn(); err != nil { // warm-up
			return err
		}
		var wall []float64
		c0 := cpuSeconds()
		for range *runs {
			t := time.Now()
			if err := fn(); err != nil {
				return err
			}
			wall = append(wall, ms(time.Since(t)))
		}
		cpuPer := (cpuSeconds() - c0) / float64(*runs) * 1000
		slices.Sort(wall)
		r := benchResult{Name: name, Runs: *runs, MedianMs: wall[len(wall)/2], MinMs: wall[0], CPUMs: cpuPer}
		if flops > 0 {
			r.GFLOPs = flops / (r.MedianMs / 1000) / 1e9
			if cpuPer > 0 {
				r.GFLOPsCPU = flops / (cpuPer / 1000) / 1e9
			}
		}
		rep.Results = append(rep.Results, r)
		return nil
	}
	in := []model.Input{{IDs: ids, Want: want}}
	if err := measure(fmt.Sprintf("forward %d tokens, %d logit rows", *tokens, *masks), model.ForwardFLOPs(cfg, *tokens, *masks),
		func() error { _, err := m.Forward(in); return err }); err != nil {
		return err
	}
	if *steps > 0 {
		req := denoise.Request{Canvases: [][]int{ids}, Steps: *steps, Sampler: sampler.Options{Alg: sampler.Alg(*alg), BlockSize: *blockSize}}
		if err := req.Sampler.Validate(); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		for _, mode := range modes {
			mode.Policy.Blocks = mode.Enabled && req.Sampler.BlocksOf() > 0 // Fast-dLLM's per-block dual cache
			req.Cache = mode
			name := fmt.Sprintf("denoise %d masks, %d steps, %s", *masks, *steps, *alg)
			if b := req.Sampler.BlocksOf(); b > 0 {
				name += fmt.Sprintf(" (blocks of %d)", b)
			}
			if mode.Enabled {
				r := mode.Policy.Refresh
				if r == 0 {
					r = kvcache.DefaultRefresh
				}
				name += fmt.Sprintf(", kv cache (refresh %d)", r)
				if mode.Policy.Blocks {
					name += " per block"
				}
			}
			ran := 0
			if err := measure(name, 0, func() error {
				res, err := denoise.Run(context.Background(), m, req)
				if err == nil {
					ran = res.Steps
				}
				return err
			}); err != nil {
				return err
			}
			if r := &rep.Results[len(rep.Results)-1]; ran > 0 {
				r.StepsRun, r.CPUMsPerStep = ran, r.CPUMs/float64(ran)
			}
		}
	}
	rep.Finished = time.Now().UTC()
	rep.PeakRSSMiB = peakRSSMiB()
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "model %s (%.1fM params), weights %s, matmul %s, backend %s, %d threads, %s, %d CPUs; load %.0f ms (%.0f cpu ms); peak RSS %.0f MiB\n",
		rep.Model, float64(rep.Params)/1e6, rep.Weights, rep.Matmul, rep.Backend, rep.Threads, rep.GOARCH, rep.NumCPU, rep.LoadMs, rep.LoadCPUMs, rep.PeakRSSMiB)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measurement\truns\tmedian ms\tmin ms\tcpu ms/run\tsteps\tcpu ms/step\tGFLOP/s\tGFLOP/cpu-s\t")
	for _, r := range rep.Results {
		g, gc := "-", "-"
		if r.GFLOPs > 0 {
			g, gc = fmt.Sprintf("%.2f", r.GFLOPs), fmt.Sprintf("%.2f", r.GFLOPsCPU)
		}
		st, ps := "-", "-"
		if r.StepsRun > 0 {
			st, ps = fmt.Sprint(r.StepsRun), fmt.Sprintf("%.1f", r.CPUMsPerStep)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t\n", r.Name, r.Runs, r.MedianMs, r.MinMs, r.CPUMs, st, ps, g, gc)
	}
	return tw.Flush()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
