package main

import (
	"fmt"
	"io"
)

// runServe is scaffolding until issue #4 lands.
func runServe(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet (issue #4)")
}
