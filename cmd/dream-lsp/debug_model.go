package main

import (
	"fmt"
	"io"
)

// debugForward and debugDenoise are scaffolding until issue #2 lands.
func debugForward(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet (issue #2)")
}

func debugDenoise(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet (issue #2)")
}
