package main

import (
	"errors"
	"flag"
	"fmt"
)

// parseFlags parses args with fs, accepting flags before, between and after
// the positional arguments (`infill FILE:LINE:COL --json`): Go's flag package
// stops at the first positional one. "--" ends the flags; everything after it
// is positional. The positional arguments are left in fs.Args(), in order.
// A bad flag is a usage error (exit 2) in every subcommand.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return flagError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" && !flagTakesValue(fs, args, used-1) {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// parseFlagsNoArgs is parseFlags for subcommands that take no positional
// arguments (api, serve, doctor): a bad flag or any argument is a usage
// error that reads "usage: ..."; -h is returned as flag.ErrHelp.
func parseFlagsNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// flagTakesValue reports whether args[i] is the value of the flag before it
// ("--log --" names a file "--", it does not end the flags).
func flagTakesValue(fs *flag.FlagSet, args []string, i int) bool {
	if i == 0 {
		return false
	}
	name := args[i-1]
	if len(name) < 2 || name[0] != '-' || name == "--" {
		return false
	}
	name = name[1:]
	if name[0] == '-' {
		name = name[1:]
	}
	for j := 0; j < len(name); j++ {
		if name[j] == '=' {
			return false // -flag=value carries its own value
		}
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// flagError is a flag parsing error; it is an errUsage and prints as the
// flag package's message (callers may add the "usage:" prefix themselves).
type flagError struct{ err error }

func (e flagError) Error() string   { return e.err.Error() }
func (e flagError) Unwrap() []error { return []error{e.err, errUsage} }
