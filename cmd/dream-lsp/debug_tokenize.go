package main

import (
	"fmt"
	"io"
)

// debugTokenize is scaffolding until issue #8 lands.
func debugTokenize(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet (issue #8)")
}
