package main

import (
	"fmt"
	"io"
)

// runDebug dispatches the low-level debug subcommands. Each lives in its own
// file: debug_model.go (forward, denoise), debug_tokenize.go (tokenize).
func runDebug(args []string, stdout, stderr io.Writer) error {
	subs := map[string]func([]string, io.Writer, io.Writer) error{
		"forward":  debugForward,
		"denoise":  debugDenoise,
		"tokenize": debugTokenize,
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: dream-lsp debug forward|denoise|tokenize [flags]", errUsage)
	}
	run, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown debug subcommand %q (want forward, denoise or tokenize)", errUsage, args[0])
	}
	return run(args[1:], stdout, stderr)
}
