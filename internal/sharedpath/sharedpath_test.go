package sharedpath

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRootHasGoMod(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot() = %s without go.mod: %v", root, err)
	}
}

func TestDirIsSiblingOfRoot(t *testing.T) {
	t.Setenv(EnvVar, "")
	dir := Dir(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Abs(filepath.Join(root, "..", "shared"))
	if dir != want {
		t.Fatalf("Dir() = %s, want %s", dir, want)
	}
}

func TestEnvOverrideMissing(t *testing.T) {
	t.Setenv(EnvVar, filepath.Join(t.TempDir(), "nope"))
	if _, err := Find(); err == nil {
		t.Fatal("Find() with a missing override dir: want error")
	}
}
