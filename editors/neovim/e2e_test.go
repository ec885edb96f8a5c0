// Package neovim holds the Neovim plugin (Lua, in lua/dream); its tests run the Lua specs in a real
// headless Neovim: test/unit.lua (pure logic) and test/e2e.lua (the plugin attached to a dream-lsp
// built from this checkout, driven by key input over RPC).
package neovim

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
)

// nvim returns the Neovim binary or skips the test.
func nvim(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("nvim")
	if err != nil {
		t.Skip("nvim not on PATH (apt-get install neovim; .ci/run installs it)")
	}
	return p
}

// runSpec runs one Lua spec file in headless Neovim from this folder and fails on a non-zero exit.
func runSpec(t *testing.T, spec string, env []string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, nvim(t), "--headless", "--clean", "-u", "NONE", "-c", "luafile "+spec)
	cmd.Env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_STATE_HOME="+filepath.Join(home, "state"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"), "XDG_DATA_HOME="+filepath.Join(home, "data"))
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	t.Logf("%s output:\n%s", spec, out.String())
	if ctx.Err() != nil {
		t.Fatalf("%s timed out after %v", spec, timeout)
	}
	if err != nil {
		t.Fatalf("%s failed: %v", spec, err)
	}
	if !strings.Contains(out.String(), " passed, 0 failed") {
		t.Fatalf("%s printed no summary", spec)
	}
	// Lua log files of the editor under test, for debugging a failure.
	if b, err := os.ReadFile(filepath.Join(home, "cache", "nvim", "lsp.log")); err == nil && t.Failed() {
		t.Logf("lsp.log:\n%s", b)
	}
	return out.String()
}

func TestLuaUnit(t *testing.T) {
	runSpec(t, "test/unit.lua", nil, time.Minute)
}

// buildServer builds cmd/dream-lsp into a temporary folder, or takes DREAM_LSP_BIN.
func buildServer(t *testing.T) string {
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

// serveImplemented reports whether `dream-lsp serve` starts at all (it is scaffolding until issue #4).
func serveImplemented(t *testing.T, bin string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	return !strings.Contains(string(out), "not implemented")
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end editor test skipped in -short mode")
	}
	nvim(t)
	bin := buildServer(t)
	if !serveImplemented(t, bin) {
		t.Skip("dream-lsp serve is not implemented yet (issue #4)")
	}
	env := []string{"DREAM_LSP_BIN=" + bin, "DREAM_E2E_TIMEOUT_MS=60000"}
	if a := os.Getenv("DREAM_SERVER_ARGS"); a != "" {
		env = append(env, "DREAM_SERVER_ARGS="+a)
	}
	// The real engine with a small model: garbage text, but real tokenizer, runtime and infill.
	t.Run("model", func(t *testing.T) {
		model := os.Getenv("DREAM_MODEL")
		if model == "" {
			model = sharedpath.Path(t, "golden", "models", "tiny-qwen-vocab")
		}
		runSpec(t, "test/e2e.lua", append(env, "DREAM_MODEL="+model, "DREAM_LSP_TEST_ENGINE="), 8*time.Minute)
	})
	// The server's deterministic test engine: exact texts, a range that swallows a closer.
	t.Run("echo-engine", func(t *testing.T) {
		runSpec(t, "test/e2e.lua", append(env, "DREAM_LSP_TEST_ENGINE=echo"), 4*time.Minute)
	})
}
