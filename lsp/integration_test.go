package lsp_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// The integration tests build the dream-lsp binary and drive it with real
// clients: vscode-jsonrpc under Node (testdata/lspclient/client.js) and
// Neovim's built-in LSP client (testdata/lspclient/nvim/test.lua). The
// binary serves a fake engine (DREAM_LSP_TEST_ENGINE), so no model is needed.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// binary builds cmd/dream-lsp once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "integration test: the go tool is not on PATH to build dream-lsp")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dream-lsp-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dream-lsp")
		cmd := exec.Command(goTool, "build", "-o", binPath, "../cmd/dream-lsp")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/dream-lsp: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

const clientDir = "../testdata/lspclient"

// TestNodeClient runs each scenario of the vscode-jsonrpc client against
// the built binary.
func TestNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not installed (the Node LSP client tests need it; .ci/run provides it)")
	}
	if _, err := os.Stat(filepath.Join(clientDir, "node_modules", "vscode-jsonrpc")); err != nil {
		testenv.Missing(t, "vscode-jsonrpc is not installed: run `npm ci` in testdata/lspclient (.ci/run does)")
	}
	bin := binary(t)
	for _, scenario := range []string{"lifecycle", "middle", "cancel", "rapid", "unicode"} {
		t.Run(scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "client.js", scenario)
			cmd.Dir = clientDir
			cmd.Env = append(os.Environ(), "DREAM_LSP_BIN="+bin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			t.Logf("client output:\n%s", stdout.String())
			if err != nil {
				t.Fatalf("node client.js %s: %v\n%s", scenario, err, tail(stderr.String(), 4000))
			}
			if !strings.Contains(stdout.String(), "PASS "+scenario) {
				t.Fatalf("no PASS line")
			}
		})
	}
}

// TestNeovimClient attaches headless Neovim to the binary through its
// built-in LSP client (vim.lsp.start_client, present since 0.5) and checks
// that completions come back.
func TestNeovimClient(t *testing.T) {
	nvim, err := exec.LookPath("nvim")
	if err != nil {
		testenv.Missing(t, "nvim is not installed (apt-get install neovim; .ci/run installs it)")
	}
	bin := binary(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(clientDir, "nvim", "main.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join(clientDir, "nvim", "test.lua"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "result.txt")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nvim, "--headless", "--clean", "-u", "NONE", "-c", "luafile "+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DREAM_LSP_BIN="+bin, "DREAM_TEST_FILE="+file, "DREAM_TEST_OUT="+out,
		"XDG_STATE_HOME="+dir, "XDG_CACHE_HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	combined, runErr := cmd.CombinedOutput()
	result, _ := os.ReadFile(out)
	t.Logf("neovim checks:\n%s", result)
	if runErr != nil {
		t.Fatalf("nvim: %v\n%s", runErr, tail(string(combined), 4000))
	}
	lines := strings.Split(strings.TrimSpace(string(result)), "\n")
	if last := lines[len(lines)-1]; last != "PASS" {
		t.Fatalf("neovim test: %s\n%s", last, tail(string(combined), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
