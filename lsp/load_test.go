package lsp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
)

// TestLoad runs concurrent sessions against the real server (the echo test
// engine behind it), each sending requests interleaved with random
// incremental edits (UTF-16 positions, CRLF, emoji) without waiting for the
// answers. Every request must be answered exactly once, invoked inline
// completions must see the text the client has (the echoed word before the
// cursor), and after shutdown the goroutines return to their baseline.
// DREAM_LSP_LOAD=long runs 4 clients x 2,500 requests (the numbers in
// docs/RELIABILITY.md); the normal suite runs 4 x 250.
func TestLoad(t *testing.T) {
	clients, requests := 4, 250
	if os.Getenv("DREAM_LSP_LOAD") == "long" {
		requests = 2500
	}
	if testing.Short() {
		requests = 50
	}
	runtime.GC()
	baseline := runtime.NumGoroutine()
	start := time.Now()
	var wg sync.WaitGroup
	stats := make([]loadStats, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[i] = runLoadClient(t, uint64(i+1), requests)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	var total loadStats
	for _, s := range stats {
		total.answered += s.answered
		total.errors += s.errors
		total.checked += s.checked
		total.edits += s.edits
	}
	if t.Failed() {
		return
	}
	// Goroutines back to baseline once every session has ended.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d after the load, %d before\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
	t.Logf("load: %d clients x %d requests in %v (%.0f req/s): %d answered (%d errors, e.g. superseded), %d echo checks, %d edits; goroutines back to %d; peak RSS %s",
		clients, requests, took.Round(time.Millisecond), float64(clients*requests)/took.Seconds(),
		total.answered, total.errors, total.checked, total.edits, runtime.NumGoroutine(), peakRSS())
}

type loadStats struct{ answered, errors, checked, edits int }

// peakRSS returns the process's peak resident set size (VmHWM) on Linux.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadDoc is the client's copy of one open document.
type loadDoc struct {
	uri     string
	text    string
	version int
}

// utf16Pos returns the LSP position (UTF-16 columns) of byte offset off.
func utf16Pos(text string, off int) (line, char int) {
	ls := 0
	for i := 0; i < off; i++ {
		switch text[i] {
		case '\n':
			line, ls = line+1, i+1
		case '\r':
			if i+1 < len(text) && text[i+1] == '\n' {
				continue // the '\n' ends the line
			}
			line, ls = line+1, i+1
		}
	}
	return line, len(utf16.Encode([]rune(text[ls:off])))
}

// randomOffset returns a character boundary of text that is not inside a
// "\r\n".
func randomOffset(r *rand.Rand, text string) int {
	off := r.IntN(len(text) + 1)
	for off > 0 && off < len(text) && !utf8.RuneStart(text[off]) {
		off--
	}
	if off > 0 && off < len(text) && text[off-1] == '\r' && text[off] == '\n' {
		off--
	}
	return off
}

func echoWord(text string, off int) string {
	start := off
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:start])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		start -= size
	}
	return text[start:off]
}

func runLoadClient(t *testing.T, seed uint64, requests int) loadStats {
	r := rand.New(rand.NewPCG(seed, 99))
	serverEnd, clientEnd := net.Pipe()
	srv := lsp.New(lsp.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Load: lsptest.Loader(&lsptest.Echo{}), Settings: quiet()})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), serverEnd) }()
	defer clientEnd.Close()

	var wmu sync.Mutex
	w := bufio.NewWriter(clientEnd)
	send := func(msg string) {
		wmu.Lock()
		defer wmu.Unlock()
		fmt.Fprintf(w, "Content-Length: %d\r\n\r\n%s", len(msg), msg)
		if err := w.Flush(); err != nil {
			t.Errorf("client %d: write: %v", seed, err)
		}
	}

	// The reader counts the answers per id and answers the server's own
	// requests.
	type expect struct {
		word    string
		checked bool
	}
	var mu sync.Mutex
	answers := map[int]int{}
	probes := map[int]string{} // results of the status probes (ids 2..99)
	expects := map[int]expect{}
	var stats loadStats
	outstanding := make(chan struct{}, 64) // at most 64 requests in flight
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c := &framedClient{w: io.Discard, r: bufio.NewReader(clientEnd)}
		for {
			m, err := c.read()
			if err != nil {
				return
			}
			if method, ok := m["method"]; ok {
				if id, isCall := m["id"]; isCall {
					res := "null"
					if string(method) == `"workspace/configuration"` {
						res = "[null]"
					}
					go send(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":` + res + `}`)
				}
				continue
			}
			id, err := strconv.Atoi(string(m["id"]))
			if err != nil {
				t.Errorf("client %d: reply with id %s", seed, m["id"])
				continue
			}
			mu.Lock()
			answers[id]++
			if id < 100 {
				probes[id] = string(m["result"])
			}
			e, want := expects[id]
			if answers[id] == 1 {
				stats.answered++
				if _, isErr := m["error"]; isErr {
					stats.errors++
				} else if want && e.checked {
					var res struct{ Items []lsptest.InlineItem }
					if json.Unmarshal(m["result"], &res) == nil && len(res.Items) > 0 {
						stats.checked++
						if !strings.Contains(res.Items[0].InsertText, "echo0("+e.word+")") {
							t.Errorf("client %d: request %d: item %q, want the echo of %q (text out of sync?)", seed, id, res.Items[0].InsertText, e.word)
						}
					}
				}
			}
			mu.Unlock()
			if id >= 100 {
				<-outstanding
			}
		}
	}()

	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"rootUri":null,"capabilities":{"workspace":{"configuration":true,"applyEdit":true}}}}`)
	send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	docs := []*loadDoc{
		{uri: fmt.Sprintf("file:///load/%d/a.go", seed), text: "package p\r\n\r\nfunc f() {\r\n\tx := 1 // 😀\r\n\t_ = x\r\n}\r\n", version: 1},
		{uri: fmt.Sprintf("file:///load/%d/b.py", seed), text: "def g(x):\n    return x  # é 😀\n\nprint(g(1))\n", version: 1},
	}
	for _, d := range docs {
		lang := "go"
		if strings.HasSuffix(d.uri, ".py") {
			lang = "python"
		}
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": map[string]any{
			"textDocument": map[string]any{"uri": d.uri, "languageId": lang, "version": d.version, "text": d.text}}})
		send(string(b))
	}
	// Wait for the model before counting: status probes until ready.
	for id := 2; ; id++ {
		if id >= 100 {
			t.Errorf("client %d: the model never became ready", seed)
			return stats
		}
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "workspace/executeCommand", "params": map[string]any{"command": "dream.status"}})
		send(string(b))
		var res string
		for range 1000 {
			mu.Lock()
			res = probes[id]
			mu.Unlock()
			if res != "" {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if strings.Contains(res, `"ready"`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	inserts := []string{"x", "😀", "\r\n", "\n", "é", "foo", "_bar1", " ", "(", ")", "世界", ""}
	for i := range requests {
		// A few random edits between requests.
		for range r.IntN(3) {
			d := docs[r.IntN(len(docs))]
			a, b := randomOffset(r, d.text), randomOffset(r, d.text)
			if a > b {
				a, b = b, a
			}
			if b-a > 12 {
				b = randomOffset(r, d.text[:a+12])
				if b < a {
					b = a
				}
			}
			ins := inserts[r.IntN(len(inserts))]
			if len(d.text) > 8<<10 {
				ins = "" // keep the documents small: deletions only
				b = min(len(d.text), a+40)
				b = randomOffset(r, d.text[:b])
				if b < a {
					b = a
				}
			}
			l1, c1 := utf16Pos(d.text, a)
			l2, c2 := utf16Pos(d.text, b)
			d.text = d.text[:a] + ins + d.text[b:]
			d.version++
			msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": map[string]any{
				"textDocument":   map[string]any{"uri": d.uri, "version": d.version},
				"contentChanges": []any{map[string]any{"range": lsptest.Range(l1, c1, l2, c2), "text": ins}},
			}})
			send(string(msg))
			stats.edits++
		}
		d := docs[r.IntN(len(docs))]
		off := randomOffset(r, d.text)
		line, char := utf16Pos(d.text, off)
		id := 100 + i
		pos := map[string]any{"line": line, "character": char}
		var params map[string]any
		var method string
		e := expect{}
		switch k := r.IntN(10); {
		case k < 5:
			method = "textDocument/inlineCompletion"
			kind := 1 + r.IntN(2)
			params = map[string]any{"textDocument": map[string]any{"uri": d.uri}, "position": pos, "context": map[string]any{"triggerKind": kind}}
			e = expect{word: echoWord(d.text, off), checked: kind == 1}
		case k < 7:
			method = "textDocument/completion"
			params = map[string]any{"textDocument": map[string]any{"uri": d.uri}, "position": pos, "context": map[string]any{"triggerKind": 1}}
		case k < 9:
			method = "textDocument/codeAction"
			params = map[string]any{"textDocument": map[string]any{"uri": d.uri}, "range": map[string]any{"start": pos, "end": pos},
				"context": map[string]any{"diagnostics": []any{}, "triggerKind": 2}}
		default:
			method = "workspace/executeCommand"
			params = map[string]any{"command": "dream.status"}
		}
		mu.Lock()
		expects[id] = e
		mu.Unlock()
		outstanding <- struct{}{}
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		send(string(msg))
	}
	// Wait for every answer, then shut down.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := 0
		for id := 100; id < 100+requests; id++ {
			if answers[id] > 0 {
				n++
			}
		}
		mu.Unlock()
		if n == requests {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("client %d: %d of %d requests answered after 60 s", seed, n, requests)
			return stats
		}
		time.Sleep(5 * time.Millisecond)
	}
	send(`{"jsonrpc":"2.0","id":99,"method":"shutdown"}`)
	for i := 0; ; i++ {
		mu.Lock()
		done := answers[99] > 0
		mu.Unlock()
		if done {
			break
		}
		if i > 1000 {
			t.Errorf("client %d: shutdown unanswered", seed)
			return stats
		}
		time.Sleep(5 * time.Millisecond)
	}
	send(`{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("client %d: Serve = %v", seed, err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("client %d: Serve did not return after exit", seed)
	}
	clientEnd.Close()
	<-readDone
	mu.Lock()
	defer mu.Unlock()
	for id, n := range answers {
		if n != 1 {
			t.Errorf("client %d: request %d answered %d times", seed, id, n)
		}
	}
	return stats
}
