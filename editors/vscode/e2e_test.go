package vscode

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// TestVSCodeEndToEnd runs test/e2e/run.sh (code-server + headless Chromium) when DREAM_E2E_VSCODE=1,
// once with the tiny model and once with the server's echo test engine.
// It is opt-in on a developer's machine (the first run installs code-server and Chromium, minutes, and a
// run takes about a minute) and always runs under CI (.ci/run installs both).
func TestVSCodeEndToEnd(t *testing.T) {
	if os.Getenv("DREAM_E2E_VSCODE") != "1" && !testenv.CI() {
		t.Skip("opt-in: set DREAM_E2E_VSCODE=1 to run the VS Code end-to-end test (installs code-server and chromium)")
	}
	for _, engine := range []string{"", "echo"} {
		name := "model"
		if engine != "" {
			name = engine + "-engine"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "test/e2e/run.sh")
			cmd.Env = append(os.Environ(), "DREAM_LSP_TEST_ENGINE="+engine)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.WaitDelay = 10 * time.Second
			err := cmd.Run()
			t.Logf("run.sh output:\n%s", out.String())
			if err != nil {
				t.Fatalf("test/e2e/run.sh: %v (screenshots and logs in test/e2e/artifacts)", err)
			}
		})
	}
}
