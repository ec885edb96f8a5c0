package main

import (
	"fmt"
	"io"
)

// runEval is scaffolding until issue #3 lands.
func runEval(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet (issue #3)")
}
