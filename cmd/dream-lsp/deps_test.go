package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// TestBinaryLeavesOutTesting keeps the testing package (and its flags and
// helpers) out of the shipped binary: packages the binary links must not
// import it, even when tests share their helpers (lsp/lsptest's fake engines
// back `serve --test-engine`).
func TestBinaryLeavesOutTesting(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		testenv.Missingf(t, "go tool not on PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "testing" || strings.HasPrefix(pkg, "testing/") {
			t.Errorf("cmd/dream-lsp links %s; find the importer with `go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/dream-lsp | grep testing`", pkg)
		}
	}
}
