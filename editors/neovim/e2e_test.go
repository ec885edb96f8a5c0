// Package neovim holds the Neovim plugin (Lua, in lua/dream); its tests run the Lua specs in a real
// headless Neovim: test/unit.lua (pure logic) and test/e2e.lua (the plugin attached to a dream-lsp
// built from this checkout, driven by key input over RPC).
package neovim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/editortest"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// neovim is one Neovim binary under test.
type neovim struct {
	path         string
	major, minor int
}

func (n neovim) name() string { return fmt.Sprintf("nvim-%d.%d", n.major, n.minor) }

var nvimVersionRE = regexp.MustCompile(`NVIM v(\d+)\.(\d+)`)

// neovims returns every Neovim to test, oldest first: nvim on PATH (Debian 12 ships 0.7.2), the
// versions test/fetch-nvim.sh unpacked under .nvim/ (0.10 from trixie, 0.12 from sid), and the
// colon-separated paths in DREAM_NVIM. With none at all the test is skipped, saying how to get one.
func neovims(t *testing.T) []neovim {
	t.Helper()
	var paths []string
	if p, err := exec.LookPath("nvim"); err == nil {
		paths = append(paths, p)
	}
	fetched, _ := filepath.Glob(filepath.Join(".nvim", "*", "nvim"))
	paths = append(paths, fetched...)
	for _, p := range strings.Split(os.Getenv("DREAM_NVIM"), ":") {
		if p != "" {
			paths = append(paths, p)
		}
	}
	var out []neovim
	seen := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		v, err := exec.Command(abs, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", abs, err)
		}
		m := nvimVersionRE.FindSubmatch(v)
		if m == nil {
			t.Fatalf("%s --version printed no version: %q", abs, v)
		}
		n := neovim{path: abs}
		n.major, _ = strconv.Atoi(string(m[1]))
		n.minor, _ = strconv.Atoi(string(m[2]))
		if !seen[n.name()] {
			seen[n.name()] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		testenv.Missing(t, "no Neovim: apt-get install neovim (.ci/run installs it) or bash test/fetch-nvim.sh trixie|sid")
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].major < out[j].major || out[i].major == out[j].major && out[i].minor < out[j].minor
	})
	if newest := out[len(out)-1]; len(out) < 3 || newest.major == 0 && newest.minor < 12 {
		// Under CI a missing build is a failure: 0.12 is the only one that tests native mode.
		if testenv.CI() {
			t.Fatalf("CI must test Neovim 0.7, 0.10 and 0.12, found %d version(s) up to %s: .ci/run runs test/fetch-nvim.sh trixie and sid", len(out), newest.name())
		}
		t.Logf("testing up to %s only; bash test/fetch-nvim.sh trixie (0.10) and sid (0.12) add newer versions", newest.name())
	}
	return out
}

// runSpec runs one Lua spec file in headless Neovim from this folder and fails on a non-zero exit.
// The spec's own child editors start "nvim" from PATH, so PATH leads to the same binary.
func runSpec(t *testing.T, nv neovim, spec string, env []string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	home := t.TempDir()
	pathDir := filepath.Join(home, "bin")
	if err := os.MkdirAll(pathDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(nv.path, filepath.Join(pathDir, "nvim")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, nv.path, "--headless", "--clean", "-u", "NONE", "-c", "luafile "+spec)
	cmd.Env = append(os.Environ(), "PATH="+pathDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_STATE_HOME="+filepath.Join(home, "state"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"), "XDG_DATA_HOME="+filepath.Join(home, "data"))
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	// The spec's editors under test are its children: on a timeout, end the whole process group, so
	// no editor (nor the tmux UI attached to it) outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
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
	for _, nv := range neovims(t) {
		t.Run(nv.name(), func(t *testing.T) {
			runSpec(t, nv, "test/unit.lua", nil, time.Minute)
		})
	}
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
	nvims := neovims(t)
	bin := editortest.BuildServer(t)
	if !serveImplemented(t, bin) {
		t.Fatal("dream-lsp serve answered \"not implemented\"")
	}
	env := []string{"DREAM_LSP_BIN=" + bin, "DREAM_E2E_TIMEOUT_MS=60000"}
	if a := os.Getenv("DREAM_SERVER_ARGS"); a != "" {
		env = append(env, "DREAM_SERVER_ARGS="+a)
	}
	for _, nv := range nvims {
		t.Run(nv.name(), func(t *testing.T) {
			// The real engine with the built-in model (or DREAM_MODEL): real tokenizer, runtime, infill and
			// suggestion policy. A random model's text never passes the policy, so the shipped one is used.
			t.Run("model", func(t *testing.T) {
				runSpec(t, nv, "test/e2e.lua", append(env, "DREAM_MODEL="+os.Getenv("DREAM_MODEL"), "DREAM_LSP_TEST_ENGINE="), 8*time.Minute)
			})
			// The server's deterministic test engine: exact texts, a range that swallows a closer.
			t.Run("echo-engine", func(t *testing.T) {
				runSpec(t, nv, "test/e2e.lua", append(env, "DREAM_LSP_TEST_ENGINE=echo"), 4*time.Minute)
			})
			// The scripted engine (the real infill path over a fake model): texts with spaces, tabs and
			// newlines, the buffer after Tab compared with lines written by hand.
			t.Run("scripted", func(t *testing.T) {
				runSpec(t, nv, "test/e2e.lua", append(env, "DREAM_E2E_SCRIPTED=1", "DREAM_E2E_TIMEOUT_MS=15000"), 2*time.Minute)
			})
			// setup{ native = true }: Neovim's own vim.lsp.inline_completion renders and accepts. Older
			// versions have none (not a skip: neovims makes CI fail without a 0.12).
			if nv.major == 0 && nv.minor < 12 {
				return
			}
			t.Run("native", func(t *testing.T) {
				runSpec(t, nv, "test/e2e.lua", append(env, "DREAM_LSP_TEST_ENGINE=echo", "DREAM_E2E_NATIVE=1"), 4*time.Minute)
			})
			t.Run("scripted-native", func(t *testing.T) {
				runSpec(t, nv, "test/e2e.lua", append(env, "DREAM_E2E_SCRIPTED=1", "DREAM_E2E_NATIVE=1", "DREAM_E2E_TIMEOUT_MS=15000"), 2*time.Minute)
			})
		})
	}
}

// TestBuiltinClient runs test/builtin.lua: Neovim 0.12's own LSP client with no plugin against the
// server's scripted engine (the real infill path over a fake model), accepting a single-line and a
// multi-line inline completion and a multi-line completion item, and asserting the buffer exactly.
// The editor runs in tmux so the screens a user would see are printed into this test's log.
func TestBuiltinClient(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end editor test skipped in -short mode")
	}
	var newest []neovim
	for _, nv := range neovims(t) {
		if nv.major > 0 || nv.minor >= 12 {
			newest = append(newest, nv)
		}
	}
	if len(newest) == 0 {
		testenv.Missing(t, "no Neovim 0.12+ (vim.lsp.inline_completion): bash test/fetch-nvim.sh sid")
	}
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if testenv.CI() {
			t.Fatal("no tmux (apt-get install tmux): the screens of the editor under test cannot be captured")
		}
		t.Log("no tmux: the editor under test runs headless and no screen is captured")
		tmux = ""
	}
	bin := editortest.BuildServer(t)
	for _, nv := range newest {
		t.Run(nv.name(), func(t *testing.T) {
			runSpec(t, nv, "test/builtin.lua", []string{"DREAM_LSP_BIN=" + bin, "DREAM_E2E_TMUX=" + tmux,
				"DREAM_E2E_TIMEOUT_MS=30000"}, 3*time.Minute)
		})
	}
}
