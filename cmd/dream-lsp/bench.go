package main

import (
	"fmt"
	"io"
)

// runBench is scaffolding until issue #2 lands.
func runBench(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet (issue #2)")
}
