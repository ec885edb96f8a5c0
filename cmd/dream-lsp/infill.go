package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/internal/safeio"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
)

// Cursor markers accepted by `dream-lsp infill FILE` (no position): the
// first one found marks the cursor and is removed from the text.
var cursorMarkers = []string{"<|cursor|>", "┃"}

// modelFlags are the model and sampling flags shared by infill and eval.
type modelFlags struct {
	model     string
	steps     int
	maxSteps  int
	threshold float64
	blockSize int
	eosRuns   bool
	alg       string
	maxTokens int
	length    string
	threads   int
	device    string
	cache     bool
	refresh   int
	weights   string
	matmul    string
	name      string // the opened model's name, set by openInfill
	kernel    string // its matmul kernel (engine.MatmulKernel), set by openInfill
	verbose   bool
}

func (m *modelFlags) register(fs *flag.FlagSet, defLength string) {
	fs.StringVar(&m.model, "model", "", "model directory (Hugging Face layout); empty: the built-in model")
	fs.IntVar(&m.steps, "steps", 0, "denoising steps of the longest length candidate (0: each candidate one step per token, at most --max-steps)")
	fs.IntVar(&m.maxSteps, "max-steps", infill.DefaultMaxSteps, "with --steps 0: at most this many steps per length candidate (-1: no cap)")
	fs.Float64Var(&m.threshold, "threshold", infill.DefaultThreshold, "confidence_threshold: commit every slot whose probability exceeds this in a step")
	fs.IntVar(&m.blockSize, "block-size", infill.DefaultBlockSize, "confidence_threshold: masked slots per block (-1: the whole middle)")
	fs.BoolVar(&m.eosRuns, "eos-runs", true, "fill each length candidate's end-of-text padding a stretch at a time (false: one slot a step, Dream's own schedule)")
	fs.StringVar(&m.alg, "alg", infill.DefaultAlg, "sampler algorithm: origin, maskgit_plus, topk_margin, entropy, confidence_threshold")
	fs.IntVar(&m.maxTokens, "max-tokens", infill.DefaultMaxTokens, "longest middle in tokens")
	fs.StringVar(&m.length, "length", defLength, "length strategy: auto, fixed=N (infill also takes oracle=N)")
	fs.IntVar(&m.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.StringVar(&m.device, "device", "auto", "auto, cpu or cuda (see dream-lsp doctor)")
	fs.BoolVar(&m.cache, "kv-cache", true, "dual K/V cache, as the server uses (false: a full forward every step)")
	fs.IntVar(&m.refresh, "kv-refresh", 0, "with --kv-cache: a full forward every N steps (0: the server's policy, -1: only the first step)")
	fs.BoolVar(&m.verbose, "debug", false, "log every raw and post-processed candidate to stderr")
	weightsFlag(fs, &m.weights)
	matmulFlag(fs, &m.matmul, engine.MatmulAuto)
}

// openInfill opens the model and wraps it in an infill engine.
func (m *modelFlags) openInfill(stderr io.Writer) (*infill.Engine, infill.Runtime, func(), error) {
	level := slog.LevelWarn
	if m.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	wm, err := parseWeights(m.weights)
	if err != nil {
		return nil, nil, nil, err
	}
	mm, err := parseMatmul(m.matmul)
	if err != nil {
		return nil, nil, nil, err
	}
	eng, name, err := openModel(m.model, m.device, engine.Options{Threads: m.threads, Logger: log, Cache: denoise.CacheOptions{Enabled: m.cache, Policy: kvcache.Policy{Refresh: m.refresh}}, Weights: wm, Matmul: mm})
	if err != nil {
		return nil, nil, nil, err
	}
	m.name, m.kernel = name, eng.MatmulKernel()
	rt, err := infill.FromEngine(eng)
	if err != nil {
		eng.Close()
		return nil, nil, nil, fmt.Errorf("model %s: %w", name, err)
	}
	ie := infill.New(rt, infill.Options{Steps: m.steps, MaxSteps: m.maxSteps, Threshold: m.threshold, BlockSize: m.blockSize, DreamPadding: !m.eosRuns, Alg: m.alg, MaxTokens: m.maxTokens, Logger: log})
	return ie, rt, func() { eng.Close() }, nil
}

// runInfill prints a completion for FILE:LINE:COL (1-based line, byte
// column) or for a file holding a cursor marker.
func runInfill(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("infill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var mf modelFlags
	mf.register(fs, "auto")
	asJSON := fs.Bool("json", false, "print every candidate with scores and timings as one JSON document")
	n := fs.Int("candidates", 1, "number of candidates")
	lang := fs.String("language", "", "LSP language id (default: from the file extension)")
	maxBytes := fs.Int64("max-file-bytes", defaultMaxInfillBytes, "refuse input files larger than this many bytes")
	minConf := fs.Float64("min-confidence", infill.DefaultMinConfidence, "least model confidence (0-1) a candidate needs to be shown, as the server's minConfidence setting (0: no threshold; the other checks of the suggestion policy still apply)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp infill [flags] FILE:LINE:COL | FILE")
		fmt.Fprintln(stderr, "\nLINE and COL are 1-based; COL counts bytes. With FILE alone, the file must contain")
		fmt.Fprintf(stderr, "a cursor marker (%s); it is removed before completing.\n\nflags:\n", strings.Join(cursorMarkers, " or "))
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: want one FILE:LINE:COL or FILE argument", errUsage)
	}
	path, text, off, err := readCursorLimit(fs.Arg(0), *maxBytes)
	if err != nil {
		return err
	}
	eng, _, closeFn, err := mf.openInfill(stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	res, err := eng.Complete(context.Background(), infill.Request{Path: path, LanguageID: *lang, Text: text, Offset: off,
		MaxTokens: mf.maxTokens, Steps: mf.steps, Alg: mf.alg, Length: mf.length, Candidates: *n,
		MinConfidence: infill.Threshold(*minConf)})
	if err != nil {
		return fmt.Errorf("complete %s: %w", fs.Arg(0), err)
	}
	if *asJSON {
		return writeInfillJSON(stdout, path, text, off, res)
	}
	if len(res.Candidates) > 0 {
		fmt.Fprintln(stdout, res.Candidates[0].Text)
		return nil
	}
	// Nothing an editor would show: say why on stderr, stdout stays empty.
	if len(res.Dropped) == 0 {
		fmt.Fprintln(stderr, "dream-lsp infill: no suggestion (the model wrote nothing here)")
		return nil
	}
	d := res.Dropped[0]
	fmt.Fprintf(stderr, "dream-lsp infill: no suggestion: the best candidate was held back by the suggestion policy (%s, confidence %.3f, min %.2f): %q\n",
		d.Reason, d.Confidence, *minConf, d.Text)
	if d.Reason == infill.DropConfidence {
		fmt.Fprintln(stderr, "dream-lsp infill: --min-confidence 0 shows candidates whatever the model's confidence")
	}
	return nil
}

// defaultMaxInfillBytes caps the file `infill` reads (--max-file-bytes
// raises it): the completion only looks at a window around the cursor, and
// a file of hundreds of megabytes would only exhaust memory in the parser.
const defaultMaxInfillBytes = 8 << 20

// readCursor is readCursorLimit with the default cap.
func readCursor(arg string) (path, text string, off int, err error) {
	return readCursorLimit(arg, defaultMaxInfillBytes)
}

// readInput reads a file named on the command line: a regular file of at
// most limit bytes. FIFOs, devices and directories are refused without
// blocking, with a message that says how to raise the cap.
func readInput(path string, limit int64) (string, error) {
	b, err := safeio.ReadFile(path, limit)
	switch {
	case errors.Is(err, safeio.ErrTooLarge):
		return "", fmt.Errorf("%w: %v; pass --max-file-bytes to raise the limit", errUsage, err)
	case errors.Is(err, safeio.ErrNotRegular):
		return "", fmt.Errorf("%w: %v; infill reads only regular files", errUsage, err)
	case err != nil:
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return string(b), nil
}

// readCursorLimit resolves the argument to a file, its text and a byte
// offset, reading at most limit bytes.
func readCursorLimit(arg string, limit int64) (path, text string, off int, err error) {
	if _, statErr := os.Stat(arg); statErr == nil {
		if text, err = readInput(arg, limit); err != nil {
			return "", "", 0, err
		}
		for _, m := range cursorMarkers {
			if i := strings.Index(text, m); i >= 0 {
				return arg, text[:i] + text[i+len(m):], i, nil
			}
		}
		return "", "", 0, fmt.Errorf("%w: %s has no cursor marker (%s); or pass FILE:LINE:COL", errUsage, arg, strings.Join(cursorMarkers, ", "))
	}
	// FILE:LINE:COL, split from the right so paths may contain colons.
	parts := strings.Split(arg, ":")
	if len(parts) < 3 {
		return "", "", 0, fmt.Errorf("%w: %q is neither a file nor FILE:LINE:COL", errUsage, arg)
	}
	path = strings.Join(parts[:len(parts)-2], ":")
	line, err1 := strconv.Atoi(parts[len(parts)-2])
	col, err2 := strconv.Atoi(parts[len(parts)-1])
	if err1 != nil || err2 != nil || line < 1 || col < 1 {
		return "", "", 0, fmt.Errorf("%w: bad position in %q (LINE and COL are 1-based numbers)", errUsage, arg)
	}
	if text, err = readInput(path, limit); err != nil {
		return "", "", 0, err
	}
	off, err = lineColOffset(text, line, col)
	if err != nil {
		return "", "", 0, fmt.Errorf("%w: %s: %v", errUsage, path, err)
	}
	return path, text, off, nil
}

// lineColOffset turns a 1-based line and byte column into a byte offset;
// the column may point one past the line's last byte.
func lineColOffset(text string, line, col int) (int, error) {
	start := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(text[start:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d past the end (%d lines)", line, l)
		}
		start += i + 1
	}
	end := len(text)
	if i := strings.IndexByte(text[start:], '\n'); i >= 0 {
		end = start + i
	}
	if col-1 > end-start {
		return 0, fmt.Errorf("column %d past the end of line %d (%d bytes)", col, line, end-start)
	}
	return start + col - 1, nil
}

type jsonCandidate struct {
	Text       string  `json:"text"`
	Start      int     `json:"start"`
	End        int     `json:"end"`
	Score      float64 `json:"score"`
	Confidence float64 `json:"confidence"`
	Parses     bool    `json:"parses"`
	Tokens     int     `json:"tokens"`
	// Reason is why the suggestion policy held a candidate back (dropped only).
	Reason string `json:"reason,omitempty"`
}

func writeInfillJSON(w io.Writer, path, text string, off int, res *infill.Result) error {
	line := strings.Count(text[:off], "\n") + 1
	col := off - (strings.LastIndexByte(text[:off], '\n') + 1) + 1
	out := struct {
		File       string             `json:"file"`
		Line       int                `json:"line"`
		Col        int                `json:"col"`
		Offset     int                `json:"offset"`
		Candidates []jsonCandidate    `json:"candidates"`
		Dropped    []jsonCandidate    `json:"dropped"`
		Timing     map[string]float64 `json:"timing_ms"`
	}{File: path, Line: line, Col: col, Offset: off, Candidates: []jsonCandidate{}, Dropped: []jsonCandidate{}}
	for _, c := range res.Candidates {
		out.Candidates = append(out.Candidates, jsonCandidate{c.Text, c.Start, c.End, c.Score, c.Confidence, c.Parses, c.Tokens, ""})
	}
	for _, d := range res.Dropped {
		c := d.Candidate
		out.Dropped = append(out.Dropped, jsonCandidate{c.Text, c.Start, c.End, c.Score, c.Confidence, c.Parses, c.Tokens, string(d.Reason)})
	}
	ms := func(d interface{ Seconds() float64 }) float64 { return d.Seconds() * 1000 }
	out.Timing = map[string]float64{"context": ms(res.Timing.Context), "model": ms(res.Timing.Model), "post": ms(res.Timing.Post),
		"total": ms(res.Timing.Context + res.Timing.Model + res.Timing.Post)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
