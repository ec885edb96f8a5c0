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

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// EnvVar names an environment variable that, when set, overrides the
// location of the shared reference tree.
const EnvVar = "DREAM_LSP_SHARED"

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
// needing a testing.TB. It reports an error when the tree is missing.
func Find() (string, error) {
	if env := os.Getenv(EnvVar); env != "" {
		return checkDir(env)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return checkDir(filepath.Join(root, "..", "shared"))
}

// RepoRoot returns the nearest ancestor of the working directory that holds
// a go.mod file.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", &os.PathError{Op: "find repository root", Path: wd, Err: os.ErrNotExist}
		}
		dir = parent
	}
}

func checkDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", &os.PathError{Op: "open shared tree", Path: abs, Err: os.ErrInvalid}
	}
	return abs, nil
}
