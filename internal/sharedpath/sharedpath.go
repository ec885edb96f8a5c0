// Package sharedpath locates the project's read-only reference tree (the
// sibling directory "shared" next to the repository root) from tests.
//
// Tests run with the package directory as their working directory; the
// repository root is the nearest ancestor holding go.mod, and the reference
// tree lives at <root>/../shared. When it is missing (a fresh clone without
// the reference material), Dir skips the test with a clear reason, or fails
// it under CI (testenv.Missing): CI must run the tests that read it.
package sharedpath

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedroot"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// EnvVar names an environment variable that, when set, overrides the
// location of the shared reference tree.
const EnvVar = sharedroot.EnvVar

// Dir returns the absolute path of the shared reference tree, or skips t
// (fails it under CI) when it cannot be found.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := Find()
	if err != nil {
		testenv.Missingf(t, "shared reference tree not available (%v); set %s or place it at <repo>/../shared", err, EnvVar)
	}
	return dir
}

// Path returns filepath.Join(Dir(t), elem...), skipping t (failing it under
// CI) when the shared tree or the named path is missing.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		testenv.Missingf(t, "shared reference file not available: %v", err)
	}
	return p
}

// Find returns the absolute path of the shared reference tree without
// needing a testing.TB (sharedroot.Find). It reports an error when the tree
// is missing.
func Find() (string, error) { return sharedroot.Find() }

// RepoRoot returns the nearest ancestor of the working directory that holds
// a go.mod file (sharedroot.RepoRoot).
func RepoRoot() (string, error) { return sharedroot.RepoRoot() }
