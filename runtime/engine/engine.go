// Package engine is the runtime's front door: Open wires a model
// directory's config, weights and tokenizer to a compute backend, and
// Denoise runs Dream's denoising loop on it. Callers (infill,
// cmd/dream-lsp) see token ids and canvases, never tensors.
//
// One path runs per engine, chosen at Open: on a backend with a fast path
// of its own (DeviceLoader: the CUDA backend's bf16 model with device
// sampling) that path, else runtime/model's forward pass over the
// backend's generic operations (the CPU backend, or the CUDA backend's
// float32 operations when the fast path cannot load) with
// runtime/sampler on the host.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/gguf"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// Options configures Open.
type Options struct {
	Threads int          // 0: all cores
	Logger  *slog.Logger // nil: slog.Default()
	// Cache is the dual K/V cache mode (runtime/kvcache) used by Denoise
	// for requests whose Cache is the zero value. Zero: off (every step a
	// full forward pass); {Enabled: true} uses the default refresh policy.
	Cache denoise.CacheOptions
	// ReuseCache keeps one K/V cache across Denoise calls: a cached
	// single-canvas request whose leading tokens match the previous
	// cached request's reuses their K/V (denoise.CacheOptions.Reuse), the
	// keystroke case. Off by default (see docs/BENCHMARKS.md "KV cache (CPU)").
	ReuseCache bool
	// Backend runs the model; nil: the CPU backend with Threads. The caller
	// keeps ownership until Open succeeds; from then on Close closes it.
	Backend backend.Backend
	// Weights is the format the big linear weights are kept in on backends
	// that read stored formats (the CPU backend): "" or auto keeps the
	// stored precision (bf16 stays bf16, mapped in place), f32 expands to
	// float32, bf16 and q8_0 convert at load (see model.WeightMode). A
	// backend's fast path (DeviceLoader) keeps bf16 and runs for auto and
	// bf16 only.
	Weights model.WeightMode
	// Matmul is how the CPU backend multiplies weights in stored
	// formats (bf16, f16, q8_0 and GGUF's q4_K, q6_K, q5_0): "" or
	// MatmulF32, MatmulBF16 or MatmulAuto.
	Matmul Matmul
	// DeviceTokens is the K/V cache rows a DeviceLoader's fast path
	// reserves: the canvases of one Denoise call together (0: its default,
	// 4096 on the GPU).
	DeviceTokens int
}

// DeviceLoader is implemented by backends that run Dream through a fast
// path of their own instead of the generic operations: runtime/backend/cuda
// keeps the weights in bf16 with fused kernels, a K/V cache and sampling
// on the device (half the memory and bytes per step of its float32
// operations). Open uses it when the backend is given; a load error falls
// back to the generic path with a Warn saying why.
type DeviceLoader interface {
	LoadDeviceModel(cfg model.Config, src model.WeightSource, maxTokens int) (denoise.DeviceModel, error)
}

// DreamOnExpandTokenID is DreamOn's "expand" token: committing it at a
// masked slot turns the slot into two masks (dream-model.md §8.2).
const DreamOnExpandTokenID = 151667

// Engine is an opened model. Denoise calls are serialised; the other
// methods are safe for concurrent use.
type Engine struct {
	cfg    model.Config
	gen    model.GenerationConfig
	tok    *tokenizer.Tokenizer
	be     backend.Backend
	m      *model.Model        // the generic path (nil when dev runs)
	dev    denoise.DeviceModel // the backend's fast path (nil when m runs)
	path   string              // which of the two runs, for logs and status
	matmul string              // how the CPU multiplies the linear weights: f32 or bf16-amx
	log    *slog.Logger
	expand int // -1 when the checkpoint has no expand token
	cache  denoise.CacheOptions
	reuse  bool
	kv     *kvcache.Cache // kept across calls when reuse is on
	closer io.Closer      // the weights' storage (mapped files), used in place

	mu sync.Mutex // serialises Denoise (the model keeps no per-call state, but the backend runs one op at a time)
}

// Open opens a Hugging Face model directory (or a Hugging Face cache
// snapshot): config.json, generation_config.json when present, the
// safetensors weights (checked against the config's tensor plan) and the
// tokenizer files. dir may also be a Dream GGUF file (runtime/gguf).
func Open(dir string, opts Options) (*Engine, error) {
	if gguf.IsGGUF(dir) {
		return openGGUF(dir, opts)
	}
	dir = weights.ResolveDir(dir)
	start := time.Now()
	cfg, ck, err := model.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("engine: open %s: %w", dir, err)
	}
	gen, err := model.LoadGenerationConfig(dir)
	if err != nil {
		ck.Close()
		return nil, fmt.Errorf("engine: open %s: %w", dir, err)
	}
	tok, err := loadTokenizer(os.DirFS(dir))
	if err != nil {
		ck.Close()
		return nil, fmt.Errorf("engine: open %s: %w", dir, err)
	}
	return build(cfg, gen, model.CheckpointSource(ck), ck, tok, dir, start, opts)
}

// OpenFS is Open for a model directory given as an fs.FS (for example the
// embedded built-in model).
func OpenFS(fsys fs.FS, opts Options) (*Engine, error) {
	start := time.Now()
	cfg, ck, err := model.LoadFS(fsys)
	if err != nil {
		return nil, fmt.Errorf("engine: open model fs: %w", err)
	}
	gen, err := model.LoadGenerationConfigFS(fsys)
	if err != nil {
		ck.Close()
		return nil, fmt.Errorf("engine: open model fs: %w", err)
	}
	tok, err := loadTokenizer(fsys)
	if err != nil {
		ck.Close()
		return nil, fmt.Errorf("engine: open model fs: %w", err)
	}
	return build(cfg, gen, model.CheckpointSource(ck), ck, tok, "(fs)", start, opts)
}

// loadTokenizer loads the tokenizer, or returns nil when the directory
// has no tokenizer files at all (test checkpoints such as the golden tiny
// models); a present but broken tokenizer is an error.
func loadTokenizer(fsys fs.FS) (*tokenizer.Tokenizer, error) {
	found := false
	for _, f := range []string{"tokenizer.json", "vocab.json"} {
		if _, err := fs.Stat(fsys, f); err == nil {
			found = true
		}
	}
	if !found {
		return nil, nil
	}
	return tokenizer.LoadFS(fsys)
}

// build loads the weights from src onto the backend. It takes ownership of
// src's storage, closer: stored-format weights use it in place, so it is
// closed with the engine (or here on failure).
func build(cfg model.Config, gen model.GenerationConfig, src model.WeightSource, closer io.Closer, tok *tokenizer.Tokenizer, name string, start time.Time, opts Options) (*Engine, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	mode, err := model.ParseWeightMode(string(opts.Weights))
	if err != nil {
		closer.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	be := opts.Backend
	if be == nil {
		if need, avail, ok := memoryShortfall(cfg, model.BytesPerWeight(cfg, src, mode)); ok {
			closer.Close()
			return nil, fmt.Errorf("engine: %s needs about %.1f GB of RAM with %s weights on the CPU backend, only %.1f GB available: %w",
				name, float64(need)/1e9, mode, float64(avail)/1e9, ErrTooLarge)
		}
		be = cpu.New(opts.Threads)
	}
	var bf16 bool
	switch opts.Matmul {
	case "", MatmulF32:
	case MatmulBF16:
		bf16 = enableBF16Matmul(be, log)
	case MatmulAuto:
		cb, ok := be.(*cpu.Backend)
		bf16 = ok && cb.SetBF16Matmul(true) == nil
	default:
		if opts.Backend == nil {
			be.Close()
		}
		closer.Close()
		return nil, fmt.Errorf("engine: matmul %q: want f32, bf16 or auto", opts.Matmul)
	}
	dev, path := loadDevice(cfg, src, be, mode, opts.DeviceTokens, log)
	var m *model.Model
	if dev == nil {
		m, err = model.LoadWith(cfg, src, be, model.LoadOptions{Weights: mode})
		if err != nil {
			if opts.Backend == nil {
				be.Close()
			}
			closer.Close()
			return nil, fmt.Errorf("engine: load weights of %s: %w", name, err)
		}
	}
	if dev != nil || !m.UsesSourceMemory() {
		// Every weight was copied or converted: unmap the files now so
		// the pages read while converting leave the resident set.
		closer.Close()
		closer = nil
	}
	e := &Engine{cfg: cfg, gen: gen.WithModel(cfg), tok: tok, be: be, m: m, dev: dev, path: path, log: log, expand: -1, cache: opts.Cache, reuse: opts.ReuseCache, closer: closer}
	e.expand = expandToken(cfg, tok)
	if tok == nil {
		log.Warn("model has no tokenizer files; only token-level calls work", "model", name)
	}
	threads := 0
	if t, ok := be.(interface{ Threads() int }); ok {
		threads = t.Threads()
	}
	matmul := "f32"
	if bf16 && dev == nil {
		// The tiles take weights in stored formats (cpu.AMXTakes);
		// float32 weights keep the float32 path.
		if f := cpu.WeightFormat(m.LinearWeight()); cpu.AMXTakes(f) {
			matmul = "bf16-" + cpu.BF16Kernel()
		} else if opts.Matmul == MatmulBF16 {
			log.Warn("--matmul bf16 applies to weights in stored formats (bf16, f16, q8_0, q4_K, q6_K, q5_0); this model's multiply with float32 activations as without it", "weights", f)
		}
	}
	e.matmul = matmul
	log.Info("model loaded", "model", name, "backend", be.Name(), "path", path, "threads", threads, "weights", mode, "matmul", matmul,
		"layers", cfg.NumLayers, "hidden", cfg.HiddenSize, "vocab", cfg.VocabSize,
		"expand_token", e.expand, "dur_ms", time.Since(start).Milliseconds())
	return e, nil
}

// Matmul is how the CPU backend multiplies weights in stored formats
// (Options.Matmul, --matmul).
type Matmul string

const (
	// MatmulF32 multiplies float32 activations by the exact weights: the
	// reference sums, the same on every CPU. The zero value means this.
	MatmulF32 Matmul = "f32"
	// MatmulBF16 multiplies them on the CPU's AMX tiles, activations and
	// weights rounded to bf16, float32 sums (cpu.Backend.SetBF16Matmul):
	// several times faster, at bf16's precision. Where it cannot run (a
	// CPU without AMX-BF16, another backend, other weight formats) Open
	// warns and runs MatmulF32.
	MatmulBF16 Matmul = "bf16"
	// MatmulAuto is MatmulBF16 where it runs and MatmulF32 elsewhere,
	// without a warning: the servers' default, so an Intel Xeon with AMX
	// gets the tiles and every other machine the reference sums.
	MatmulAuto Matmul = "auto"
)

// MatmulKernel reports how the CPU multiplies the model's linear weights:
// "bf16-amx" on the AMX tiles, "bf16-avx512-bf16" with VDPBF16PS, else
// "f32" (also for a device's fast path,
// which has its own).
func (e *Engine) MatmulKernel() string { return e.matmul }

// enableBF16Matmul turns on the CPU backend's AMX matmul
// (MatmulBF16) and reports whether it did. Where it cannot run (a
// CPU without AMX, or another backend: a GPU keeps bf16 weights in its
// own fast path) the engine runs as without the option, after a Warn
// that says why: the option is a speed-up, and a setting made for one
// machine (an editor's server arguments) must not stop another from
// serving.
func enableBF16Matmul(be backend.Backend, log *slog.Logger) bool {
	cb, ok := be.(*cpu.Backend)
	if !ok {
		log.Warn("--matmul bf16 applies to the CPU backend only; ignored", "backend", be.Name())
		return false
	}
	if err := cb.SetBF16Matmul(true); err != nil {
		log.Warn("--matmul bf16 cannot run here; float32 matmuls", "reason", err)
		return false
	}
	return true
}

// loadDevice loads the backend's fast path when it has one and the weight
// mode allows it, logging which path runs and why; it returns nil and the
// generic path's name otherwise.
func loadDevice(cfg model.Config, src model.WeightSource, be backend.Backend, mode model.WeightMode, tokens int, log *slog.Logger) (denoise.DeviceModel, string) {
	generic := be.Name()
	if generic != "cpu" {
		generic += "-f32"
	}
	dl, ok := be.(DeviceLoader)
	if !ok {
		return nil, generic
	}
	if mode != model.WeightsAuto && mode != model.WeightsBF16 {
		log.Warn("fast path skipped: it keeps weights in bf16; running the float32 operations", "backend", be.Name(), "weights", mode, "path", generic)
		return nil, generic
	}
	start := time.Now()
	dev, err := dl.LoadDeviceModel(cfg, src, tokens)
	if err != nil {
		log.Warn("fast path unavailable; running the float32 operations (twice the memory and bytes per step)", "backend", be.Name(), "path", generic, "err", err)
		return nil, generic
	}
	path := be.Name() + "-device"
	if p, ok := dev.(interface{ Path() string }); ok {
		path = p.Path()
	}
	log.Info("fast path: the device keeps the weights, the K/V cache and the sampling", "backend", be.Name(), "path", path, "dur_ms", time.Since(start).Milliseconds())
	return dev, path
}

// expandToken applies the rule for DreamOn's expand token: the checkpoint
// uses Dream's id layout (mask 151666), its embedding has row 151667, and
// the tokenizer defines id 151667 (plain Dream's tokenizer ends at 151666,
// so VocabSize is 151667 there). A tokenizer that names an "<|expand|>"
// added token inside the vocabulary wins over the fixed id.
func expandToken(cfg model.Config, tok *tokenizer.Tokenizer) int {
	if tok == nil {
		return -1
	}
	if id, ok := tok.TokenID("<|expand|>"); ok && id >= 0 && id < cfg.VocabSize && id != cfg.MaskTokenID {
		return id
	}
	if cfg.MaskTokenID == 151666 && cfg.VocabSize > DreamOnExpandTokenID && tok.VocabSize() > DreamOnExpandTokenID {
		return DreamOnExpandTokenID
	}
	return -1
}

// Tokenizer returns the model's tokenizer, or nil when the model
// directory has no tokenizer files.
func (e *Engine) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// Config returns the model configuration (MaskTokenID, EOSTokenID,
// PadTokenID, VocabSize, ...).
func (e *Engine) Config() model.Config { return e.cfg }

// GenerationConfig returns generation_config.json (Dream's defaults when
// absent) with unset token ids filled from the model config.
func (e *Engine) GenerationConfig() model.GenerationConfig { return e.gen }

// Backend returns the name of the compute backend ("cpu", "cuda").
func (e *Engine) Backend() string { return e.be.Name() }

// Path returns which path runs the model: "cpu", "cuda-bf16" (the CUDA
// backend's fast path: bf16 weights, device sampling) or "cuda-f32" (its
// float32 operations, the fallback).
func (e *Engine) Path() string { return e.path }

// ExpandTokenID reports DreamOn's expand token when the checkpoint has it
// (see expandToken for the rule).
func (e *Engine) ExpandTokenID() (int, bool) { return e.expand, e.expand >= 0 }

// Forward returns the shifted logits of the wanted positions of each
// canvas (see model.Model.Forward); for debugging and benchmarks.
func (e *Engine) Forward(in []model.Input) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dev != nil {
		return e.dev.Forward(in)
	}
	if e.m == nil {
		return nil, ErrClosed
	}
	return e.m.Forward(in)
}

// Denoise runs the denoising loop (runtime/denoise). When req.Sampler has
// an EOS penalty and EOSTokenID 0, the config's EOS id is used.
func (e *Engine) Denoise(ctx context.Context, req denoise.Request) (*denoise.Result, error) {
	req = e.defaults(req)
	e.mu.Lock()
	defer e.mu.Unlock()
	var run denoise.Model = e.m
	switch {
	case e.dev != nil:
		// The device keeps its own cache (no reuse across calls yet);
		// DreamOn runs on its logits without the host K/V cache.
		run = e.dev
		if req.DreamOn != nil {
			req.Cache = denoise.CacheOptions{}
		}
	case e.m == nil:
		return nil, ErrClosed
	case e.reuse && req.Cache.Enabled && req.Cache.Reuse == nil && len(req.Canvases) == 1:
		if e.kv == nil {
			e.kv = e.m.NewCache()
		}
		req.Cache.Reuse = e.kv
	}
	start := time.Now()
	res, err := denoise.Run(ctx, run, req)
	if err != nil {
		return nil, err
	}
	e.log.Debug("denoised", "path", e.path, "canvases", len(req.Canvases), "steps", res.Steps, "kv_cache", req.Cache.Enabled, "dur_ms", time.Since(start).Milliseconds())
	return res, nil
}

// defaults fills what a request leaves unset (Denoise and Batcher alike):
// the EOS id of the penalty and the engine's cache mode.
func (e *Engine) defaults(req denoise.Request) denoise.Request {
	if req.Sampler.EOSPenalty > 0 && req.Sampler.EOSTokenID == 0 && e.cfg.EOSTokenID != model.NoToken {
		req.Sampler.EOSTokenID = e.cfg.EOSTokenID
	}
	if req.Cache == (denoise.CacheOptions{}) {
		req.Cache = e.cache
	}
	return req
}

// ErrTooLarge is returned by Open when the model's float32 weights would
// not fit in the available memory.
var ErrTooLarge = errors.New("model too large for this machine")

// memoryShortfall reports whether cfg's weights at perWeight bytes a
// parameter (plus a quarter for activations) exceed MemAvailable from
// /proc/meminfo. It returns false when the amount cannot be read
// (non-Linux systems).
func memoryShortfall(cfg model.Config, perWeight float64) (need, avail int64, short bool) {
	need = int64(float64(model.NumParams(cfg)) * perWeight * 5 / 4)
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return need, 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return need, 0, false
			}
			avail = kb * 1024
			return need, avail, need > avail
		}
	}
	return need, 0, false
}

// ErrClosed is returned by calls on a closed Engine.
var ErrClosed = errors.New("engine: closed")

// Close releases the model's memory.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.kv != nil {
		e.kv.Free()
		e.kv = nil
	}
	if e.m != nil {
		e.m.Close()
		e.m = nil
	}
	var err error
	if e.dev != nil {
		err = e.dev.Close()
		e.dev = nil
	}
	err = errors.Join(err, e.be.Close())
	if e.closer != nil {
		err = errors.Join(err, e.closer.Close())
		e.closer = nil
	}
	return err
}
