// Command dream-lsp is a language server that fills code in the middle of a
// file with a diffusion language model (Dream 7B and its code variants, or
// the small built-in model).
//
// Usage:
//
//	dream-lsp [serve]            run the language server on stdio (default)
//	dream-lsp api --listen ADDR  serve the model over HTTP
//	dream-lsp infill FILE:L:C    print a completion for one position
//	dream-lsp eval               score infilling on the evaluation sets
//	dream-lsp bench              measure the runtime
//	dream-lsp doctor             report the backend that would be used and why
//	dream-lsp debug SUBCOMMAND   forward, denoise, tokenize: low-level checks
//	dream-lsp version            print the version
//
// Every subcommand accepts -h. Flags may stand before, between or after the
// positional arguments (dream-lsp infill FILE:LINE:COL --json); "--" ends
// them. Logs go to stderr (or --log FILE); stdout is
// reserved for the LSP stream in serve and for results elsewhere.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// command is one subcommand: it parses its own flags from args and writes
// results to stdout.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the language server on stdio (the default)", runServe},
		{"api", "serve the model over HTTP (OpenAI, Mistral, llama.cpp, Ollama shapes)", runAPI},
		{"infill", "print a completion for FILE:LINE:COL or a file with a cursor marker", runInfill},
		{"eval", "score infilling on HumanEval-Infilling and HumanEval-X Go", runEval},
		{"bench", "measure forward, denoising and end-to-end latency", runBench},
		{"doctor", "report the model, backend and libraries that would be used", runDoctor},
		{"debug", "low-level checks: forward, denoise, tokenize", runDebug},
		{"version", "print the version", runVersion},
	}
}

// errUsage marks an error caused by bad command-line input; main exits 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
}

func mainExit(args []string, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		printUsage(stdout)
		return 0
	}
	if name == "help" {
		printUsage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(args, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "dream-lsp %s: %v\n", name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "dream-lsp %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "dream-lsp: unknown command %q\n\n", name)
	printUsage(stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: dream-lsp [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'dream-lsp COMMAND -h' for the flags of one command.")
}
