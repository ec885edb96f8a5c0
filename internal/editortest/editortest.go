// Package editortest holds what the end-to-end tests of the editor clients (editors/neovim, editors/vscode,
// editors/emacs-test) share, so that each drives the server the same way.
package editortest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
)

// BuildServer builds cmd/dream-lsp into a temporary folder of t and returns its path, or returns
// DREAM_LSP_BIN when set, so that the editor tests drive the server of this checkout (or a given one).
func BuildServer(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("DREAM_LSP_BIN"); p != "" {
		return p
	}
	root, err := sharedpath.RepoRoot()
	if err != nil {
		t.Fatalf("finding the repository root: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "dream-lsp")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/dream-lsp")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/dream-lsp: %v\n%s", err, out)
	}
	return bin
}
