package main

import (
	"fmt"
	"io"
)

// runDoctor is scaffolding until issue #5 lands.
func runDoctor(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet (issue #5)")
}
