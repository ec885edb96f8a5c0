// Package sharedroot finds the project's read-only reference tree (the
// sibling directory "shared" next to the repository root) for commands such
// as `dream-lsp eval`. It is internal/sharedpath without the testing helpers,
// so the binary does not link the testing package.
package sharedroot

import (
	"os"
	"path/filepath"
)

// EnvVar names an environment variable that, when set, overrides the
// location of the shared reference tree.
const EnvVar = "DREAM_LSP_SHARED"

// Find returns the absolute path of the shared reference tree, or an error
// when it is missing.
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
