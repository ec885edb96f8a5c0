package main

import (
	"fmt"
	"io"
)

// runInfill is scaffolding until issue #3 lands.
func runInfill(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet (issue #3)")
}
