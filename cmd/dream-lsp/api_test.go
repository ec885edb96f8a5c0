package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds dream-lsp into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dream-lsp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startAPI runs `dream-lsp api` and returns its base URL, the process and
// its stderr so far (a func, safe to call while it runs).
func startAPI(t *testing.T, bin string, env []string, args ...string) (string, *exec.Cmd, func() string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"api", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var mu sync.Mutex
	var logs bytes.Buffer
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	stderr := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
	select {
	case a := <-addr:
		return "http://" + a, cmd, stderr
	case <-time.After(60 * time.Second):
		t.Fatalf("dream-lsp api did not start:\n%s", stderr())
	}
	return "", nil, nil
}

// TestAPICommand runs the binary: auth from an environment variable (never
// logged), a completion from the built-in model, and SIGTERM draining a
// request in flight before a clean exit.
func TestAPICommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; -short skips it")
	}
	bin := buildBinary(t)
	const key = "k3y-never-logged"
	url, cmd, stderr := startAPI(t, bin, []string{"DREAM_TEST_KEY=" + key}, "--api-key-env", "DREAM_TEST_KEY", "--log-level", "debug")
	do := func(path, body string, auth bool) (int, string) {
		req, _ := http.NewRequest("POST", url+path, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("/v1/completions", `{"prompt":"package main\n"}`, false); code != 401 {
		t.Errorf("without the key: %d %s", code, body)
	}
	code, body := do("/infill", `{"input_prefix":"package main\n\nfunc main() {\n\t","input_suffix":"\n}\n","n_predict":8}`, true)
	if code != 200 || !strings.Contains(body, `"content":`) {
		t.Fatalf("infill: %d %s", code, body)
	}
	// A long request in flight when SIGTERM arrives still gets its answer.
	res := make(chan string, 1)
	go func() {
		c, b := do("/v1/completions", `{"prompt":"package main\n","dream":{"lengths":[200],"steps":200}}`, true)
		res <- strings.Join([]string{http.StatusText(c), b}, " ")
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(metrics(t, url, key), "dream_api_queue_depth 1") {
		if time.Now().After(deadline) {
			t.Fatal("the long request never showed in the queue")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if r := <-res; !strings.HasPrefix(r, "OK ") {
		t.Errorf("request in flight at SIGTERM: %s", r)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	logs := stderr()
	if strings.Contains(logs, key) {
		t.Errorf("the API key appears in the logs:\n%s", logs)
	}
	if !strings.Contains(logs, "draining") || !strings.Contains(logs, "msg=stopped") {
		t.Errorf("no drain in the logs:\n%s", logs)
	}
}

func metrics(t *testing.T, url, key string) string {
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestAPIUsage: bad flags and an unset key variable are usage errors.
func TestAPIUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"api", "--queue", "0"}, {"api", "extra"}, {"api", "--api-key-env", "DREAM_SURELY_UNSET_VAR"}} {
		if code := mainExit(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}
