package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/eval"
	"github.com/dream-lsp/dream-lsp/internal/sharedroot"
)

// runEval scores infilling on HumanEval-Infilling (Python) and tasks
// derived from HumanEval-X Go by executing their tests.
func runEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var mf modelFlags
	mf.register(fs, "auto")
	data := fs.String("data", "", "evaluation tree holding humaneval-infilling/ and humaneval-x-go/ (default: <repo>/../shared/eval)")
	sets := fs.String("sets", "python-single,go-single", "task sets: "+strings.Join(eval.Sets, ","))
	tasks := fs.String("tasks", "", "comma-separated task-id substrings, e.g. HumanEval/0/,Go/12/")
	limit := fs.Int("limit", 0, "at most N tasks per set (0: all)")
	oracleMiddle := fs.Bool("oracle-middle", false, "score the reference middles (no model): proves the harness")
	includeBroken := fs.Bool("include-broken", false, "keep known-broken problems (Go/95) in the scores")
	asJSON := fs.Bool("json", false, "print the report as one JSON document")
	workers := fs.Int("workers", 2, "parallel test programs")
	verbose := fs.Bool("v", false, "log why each failing task failed")
	skipTrivial := fs.Bool("skip-trivial", false, "drop tasks whose middle is only brackets and punctuation (e.g. a lone \"}\" line)")
	timeout := fs.Duration("timeout", 10*time.Second, "per-program test timeout")
	minConf := fs.Float64("min-confidence", 0, fmt.Sprintf("suggestion policy threshold the policy section is scored at (0: the default, %.2f; negative: none)", infill.DefaultMinConfidence))
	records := fs.Bool("records", false, "with --json: every task's policy record (confidences, parse, pass)")
	thresholds := fs.String("thresholds", "", "comma-separated thresholds of the coverage/precision curve (default 0,0.1,...,0.9)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp eval [flags]\n\n--length is auto, oracle (the reference middle's token count) or fixed=N.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	if l := mf.length; l != "auto" && l != "oracle" && !strings.HasPrefix(l, "fixed=") {
		return fmt.Errorf("%w: --length %q (want auto, oracle or fixed=N)", errUsage, l)
	}
	dir := *data
	if dir == "" {
		sh, err := sharedroot.Find()
		if err != nil {
			return fmt.Errorf("find the evaluation data (pass --data DIR): %w", err)
		}
		dir = sh + "/eval"
	}
	cfg := eval.Config{Dir: dir, Tasks: *tasks, Limit: *limit, Length: mf.length, OracleMiddle: *oracleMiddle,
		Steps: mf.steps, Alg: mf.alg, MaxTokens: mf.maxTokens, Verbose: *verbose, SkipTrivial: *skipTrivial, MinConfidence: *minConf, Records: *records}
	if *thresholds != "" {
		for _, f := range strings.Split(*thresholds, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v < 0 || v > 1 {
				return fmt.Errorf("%w: --thresholds: %q is not a number in [0, 1]", errUsage, f)
			}
			cfg.Thresholds = append(cfg.Thresholds, v)
		}
	}
	for _, s := range strings.Split(*sets, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Sets = append(cfg.Sets, s)
		}
	}
	if !*includeBroken {
		cfg.Exclude = eval.KnownBroken
	}
	var completer eval.Completer
	if !*oracleMiddle {
		eng, rt, closeFn, err := mf.openInfill(stderr)
		if err != nil {
			return err
		}
		defer closeFn()
		completer = eng
		cfg.Count = func(s string) int { return len(rt.Encode(s)) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := eval.Run(ctx, cfg, completer, &eval.Executor{Workers: *workers, Timeout: *timeout}, stderr)
	if err != nil {
		return err
	}
	rep.Matmul = mf.kernel
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	eval.WriteText(stdout, rep)
	return nil
}
