package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/loadtest"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// TestAPIBehindHAProxy is the scale-out measurement of docs/BENCHMARKS.md
// "dream-lsp api": two `dream-lsp api` replicas (built-in model) behind
// HAProxy from Debian, E simulated editors sending N requests each; one
// replica is killed (SIGKILL) a third of the way through. HAProxy's health
// check takes it out and its layer-7 retries resend the requests it had in
// flight to the other; every request must be answered. Opt-in:
//
//	DREAM_API_LB=8x20 go test ./cmd/dream-lsp -run TestAPIBehindHAProxy -v
func TestAPIBehindHAProxy(t *testing.T) {
	editors, perEditor := loadSpec(t, "DREAM_API_LB", "8x20", 3)
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		testenv.Missingf(t, "haproxy not installed (apt-get install haproxy): %v", err)
	}
	bin := buildBinary(t)
	urlA, cmdA, _ := startAPI(t, bin, nil)
	urlB, _, _ := startAPI(t, bin, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  timeout client 120s
  timeout server 120s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 503
  option http-buffer-request
frontend fe
  bind %s
  stats enable
  stats uri /haproxy-stats
  default_backend replicas
backend replicas
  balance leastconn
  option httpchk GET /health
  http-check expect status 200
  default-server inter 200ms fall 1 rise 2
  server a %s check
  server b %s check
`, front, strings.TrimPrefix(urlA, "http://"), strings.TrimPrefix(urlB, "http://"))), 0o644)
	hp := exec.Command(haproxy, "-db", "-f", cfg)
	hp.Stdout, hp.Stderr = io.Discard, io.Discard
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hp.Process.Kill(); hp.Wait() })
	url := "http://" + front
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 200 {
			t.Fatal("haproxy did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	windows := loadtest.Windows(t, editors*perEditor)
	total := editors * perEditor
	var done, failed atomic.Int64
	var killedAt atomic.Int64
	var failures sync.Map
	start := time.Now()
	var wg sync.WaitGroup
	for e := range editors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perEditor {
				w := windows[e*perEditor+i]
				body, _ := json.Marshal(map[string]any{"prompt": w[0], "suffix": w[1], "max_tokens": 12, "dream": map[string]any{"lengths": []int{4, 8, 12}}})
				resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(string(body)))
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if !ok {
					failed.Add(1)
					failures.Store(fmt.Sprint(e, "/", i), fmt.Sprint(err, statusOf(resp)))
				}
				if n := done.Add(1); n == int64(total/3) {
					cmdA.Process.Kill() // replica a dies with requests in flight
					killedAt.Store(int64(time.Since(start)))
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	stats := haproxyStats(t, url+"/haproxy-stats;csv")
	failures.Range(func(k, v any) bool { t.Logf("request %v failed: %v", k, v); return true })
	t.Logf("2 replicas behind HAProxy, %d editors x %d requests: %d answered, %d failed, in %.1f s; replica a killed at %.1f s; "+
		"a: %s requests, %s retries, %s redispatches; b: %s requests",
		editors, perEditor, int64(total)-failed.Load(), failed.Load(), wall.Seconds(), time.Duration(killedAt.Load()).Seconds(),
		stats["a"]["stot"], stats["a"]["wretr"], stats["a"]["wredis"], stats["b"]["stot"])
	if failed.Load() > 0 {
		t.Errorf("%d requests failed", failed.Load())
	}
}

func statusOf(r *http.Response) string {
	if r == nil {
		return ""
	}
	return r.Status
}

// haproxyStats reads HAProxy's CSV statistics: server name -> column -> value.
func haproxyStats(t *testing.T, url string) map[string]map[string]string {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "# "))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("haproxy stats: %v %q", err, raw)
	}
	out := map[string]map[string]string{}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			if i < len(r) {
				m[h] = r[i]
			}
		}
		out[m["svname"]] = m
	}
	return out
}
