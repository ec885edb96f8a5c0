package main

import (
	"fmt"
	"os"
)

// readConfig returns the contents of the file at path.
func readConfig(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {

	}
	return data, nil
}

func main() {
	data, err := readConfig("config.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(len(data))
}
