package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// parseIDs parses a comma-separated id list. "mask" (or "m") stands for
// the mask id.
func parseIDs(s string, mask int) ([]int, error) {
	var ids []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f == "mask" || f == "m" {
			ids = append(ids, mask)
			continue
		}
		id, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%w: bad id %q in %q", errUsage, f, s)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// openCanvas checks that --model and --ids were given (else prints fs's
// usage), opens the model with logs on stderr and parses the ids, "mask"
// standing for the model's mask id. The caller closes the engine.
func openCanvas(fs *flag.FlagSet, dir, idsFlag string, threads int, stderr io.Writer) (*engine.Engine, []int, error) {
	if dir == "" || idsFlag == "" {
		fs.Usage()
		return nil, nil, fmt.Errorf("%w: --model and --ids are required", errUsage)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := engine.Open(dir, engine.Options{Threads: threads, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	ids, err := parseIDs(idsFlag, e.Config().MaskTokenID)
	if err == nil && len(ids) == 0 {
		err = fmt.Errorf("%w: --ids is empty", errUsage)
	}
	if err != nil {
		e.Close()
		return nil, nil, err
	}
	return e, ids, nil
}

// forwardRow is one position of debug forward's output.
type forwardRow struct {
	Position int       `json:"position"`
	Logits   []float32 `json:"logits,omitempty"`
	TopIDs   []int     `json:"top_ids,omitempty"`
	TopLogit []float32 `json:"top_logits,omitempty"`
}

// debugForward prints Dream's shifted logits (row p scores the token at
// position p) for the given ids as one JSON document.
func debugForward(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("debug forward", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "model directory (Hugging Face layout; required)")
	idsFlag := fs.String("ids", "", "comma-separated token ids of the canvas; \"mask\" stands for the mask id (required)")
	posFlag := fs.String("positions", "", "comma-separated canvas positions to print (default: all)")
	top := fs.Int("top", 0, "print only the N largest logits per position with their ids (0: all logits)")
	threads := fs.Int("threads", 0, "CPU threads (0: all cores)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp debug forward --model DIR --ids 1,2,3 [--positions 0,2] [--top N]")
		fmt.Fprintln(stderr, "Prints {\"vocab_size\", \"rows\": [{\"position\", \"logits\"|\"top_ids\",\"top_logits\"}]} on stdout.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	e, ids, err := openCanvas(fs, *modelDir, *idsFlag, *threads, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	cfg := e.Config()
	positions := make([]int, len(ids))
	for i := range positions {
		positions[i] = i
	}
	if *posFlag != "" {
		if positions, err = parseIDs(*posFlag, -1); err != nil {
			return err
		}
		for _, p := range positions {
			if p < 0 || p >= len(ids) {
				return fmt.Errorf("%w: position %d outside the canvas [0,%d)", errUsage, p, len(ids))
			}
		}
	}
	out, err := e.Forward([]model.Input{{IDs: ids, Want: positions}})
	if err != nil {
		return err
	}
	V := cfg.VocabSize
	doc := struct {
		VocabSize int          `json:"vocab_size"`
		IDs       []int        `json:"ids"`
		Rows      []forwardRow `json:"rows"`
	}{VocabSize: V, IDs: ids}
	for i, p := range positions {
		row := out[0][i*V : (i+1)*V]
		r := forwardRow{Position: p}
		if *top > 0 {
			r.TopIDs, r.TopLogit = topN(row, *top)
		} else {
			r.Logits = row
		}
		doc.Rows = append(doc.Rows, r)
	}
	return writeJSON(stdout, doc)
}

// topN returns the n largest values of row with their indices, largest
// first (ties: lower index first).
func topN(row []float32, n int) ([]int, []float32) {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	idx = idx[:min(n, len(idx))]
	vals := make([]float32, len(idx))
	for i, j := range idx {
		vals[i] = row[j]
	}
	return idx, vals
}

// writeJSON prints one JSON document. NaN and infinities (which JSON
// cannot carry) are an error, not a silent corruption.
func writeJSON(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	data = append(data, '\n')
	_, err = w.Write(data)
	return err
}

// debugDenoise runs the denoising loop on one canvas and prints the
// canvas after each step (--trace) and the final canvas as JSON.
func debugDenoise(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("debug denoise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "model directory (Hugging Face layout; required)")
	idsFlag := fs.String("ids", "", "comma-separated token ids; slots equal to the mask id (or \"mask\") are filled (required)")
	steps := fs.Int("steps", 0, "denoising steps (0: the model's generation_config.json steps)")
	alg := fs.String("alg", "", "origin, maskgit_plus, topk_margin, entropy or confidence_threshold (default: generation_config.json's alg)")
	trace := fs.Bool("trace", false, "also print the canvas after every step")
	temperature := fs.Float64("temperature", -1, "sampling temperature (0: greedy; default: generation_config.json)")
	topP := fs.Float64("top-p", -1, "nucleus filter (0 or 1: off; default: generation_config.json)")
	topK := fs.Int("top-k", -1, "keep the K largest logits (0: off; default: generation_config.json)")
	algTemp := fs.Float64("alg-temp", -1, "randomise committed positions with softmax(confidence/alg_temp) (0: off)")
	threshold := fs.Float64("threshold", 0, "confidence_threshold's τ (0: 0.9)")
	blockSize := fs.Int("block-size", 0, "confidence_threshold's Fast-dLLM block of masked slots (0: 32; -1: the whole canvas)")
	eosPenalty := fs.Float64("eos-penalty", 0, "subtract this from the EOS logit before sampling (0: off)")
	eps := fs.Float64("eps", -1, "last timestep of the schedule (default: generation_config.json, 1e-3)")
	seed := fs.Uint64("seed", 0, "random seed")
	threads := fs.Int("threads", 0, "CPU threads (0: all cores)")
	don := addDreamOnFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp debug denoise --model DIR --ids ... --steps N --alg A [--trace] [sampling flags]")
		fmt.Fprintln(stderr, "       dream-lsp debug denoise --dreamon --model DIR --ids ... [--max-new-tokens N] [--pad-delete-to-right] [--trace] [sampling flags]")
		fmt.Fprintln(stderr, "Prints {\"steps\", \"trace\"?, \"output\", \"confidence\", \"text\"?, \"dreamon\"?} on stdout.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	e, ids, err := openCanvas(fs, *modelDir, *idsFlag, *threads, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	cfg, gen := e.Config(), e.GenerationConfig()
	pick := func(flagVal, def float64) float64 {
		if flagVal >= 0 {
			return flagVal
		}
		return def
	}
	opts := sampler.Options{
		Alg:         sampler.Alg(cmp(*alg, gen.Alg)),
		Temperature: pick(*temperature, gen.Temperature),
		TopP:        pick(*topP, gen.TopP),
		TopK:        int(pick(float64(*topK), float64(gen.TopK))),
		AlgTemp:     pick(*algTemp, gen.AlgTemp),
		Threshold:   *threshold,
		BlockSize:   *blockSize,
		EOSPenalty:  *eosPenalty,
		EOSTokenID:  max(cfg.EOSTokenID, 0),
		Seed:        *seed,
		Eps:         pick(*eps, gen.Eps),
	}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	n := *steps
	if n == 0 {
		n = gen.Steps
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var traceRows [][]int
	req := denoise.Request{Canvases: [][]int{ids}, Steps: n, Sampler: opts}
	if req.DreamOn, err = don.options(e); err != nil {
		return err
	}
	if *trace {
		req.OnStep = func(_ int, c [][]int) { traceRows = append(traceRows, slices.Clone(c[0])) }
	}
	res, err := e.Denoise(ctx, req)
	if err != nil {
		return err
	}
	doc := struct {
		Steps      int         `json:"steps"`
		Trace      [][]int     `json:"trace,omitempty"`
		Output     []int       `json:"output"`
		Confidence []float32   `json:"confidence"`
		Text       *string     `json:"text,omitempty"`
		DreamOn    *dreamOnDoc `json:"dreamon,omitempty"`
	}{Steps: res.Steps, Trace: traceRows, Output: res.Canvases[0], Confidence: res.Confidence[0], DreamOn: newDreamOnDoc(res)}
	if tok := e.Tokenizer(); tok != nil {
		text := tok.Decode(res.Canvases[0])
		doc.Text = &text
	}
	for _, c := range doc.Confidence {
		if math.IsNaN(float64(c)) {
			return errors.New("denoise produced a NaN confidence")
		}
	}
	return writeJSON(stdout, doc)
}

// cmp returns a unless it is empty, else b.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
