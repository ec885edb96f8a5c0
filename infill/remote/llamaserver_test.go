package remote

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// llamaServer is llama-server from Debian, unpacked by
// testdata/fetch-llama.sh, serving the tiny hand-built Qwen2 GGUF that
// testdata/tinyqwen.py writes (greedy decoding answers "go f()" after
// <|fim_middle|> or a tab).
type llamaServer struct {
	bin, model, addr string
	cmd              *exec.Cmd
	log              *syncBuf
}

// syncBuf is the server's output, written by exec's copier while a
// failing test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *syncBuf) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

const tinyQwenMiddle = "go f()"

// startLlamaServer builds the GGUF and starts the server on a free port.
func startLlamaServer(t *testing.T) *llamaServer {
	t.Helper()
	root, _ := filepath.Abs(".llama")
	bin := filepath.Join(root, "llama-server")
	if _, err := os.Stat(bin); err != nil {
		testenv.Missingf(t, "llama-server not unpacked (run bash infill/remote/testdata/fetch-llama.sh): %v", err)
	}
	model := filepath.Join(t.TempDir(), "tiny-qwen2.gguf")
	py := exec.Command("/usr/bin/python3", "testdata/tinyqwen.py", model)
	py.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "root/usr/lib/python3/dist-packages"))
	if out, err := py.CombinedOutput(); err != nil {
		testenv.Missingf(t, "writing the GGUF with Debian's python3-gguf failed (needs python3-numpy, python3-yaml, python3-tqdm): %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &llamaServer{bin: bin, model: model, addr: ln.Addr().String()}
	ln.Close()
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

func (s *llamaServer) url() string { return "http://" + s.addr }

func (s *llamaServer) start(t *testing.T) {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	s.log = &syncBuf{}
	s.cmd = exec.Command(s.bin, "-m", s.model, "--host", host, "--port", port, "-t", "1", "-c", "1024", "--no-webui")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url() + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	t.Fatalf("llama-server did not become healthy:\n%s", s.log)
}

func (s *llamaServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// TestLlamaServer: the llamacpp and openai adapters against Debian's
// llama-server: the middle arrives; with the server down the error says
// unreachable; once it is back, completions resume.
func TestLlamaServer(t *testing.T) {
	s := startLlamaServer(t)
	req := infill.FillRequest{Prefix: "package p\n\nfunc g() {\n\t", Suffix: "\n}\n", Lengths: []int{16}}
	clients := map[string]*Client{}
	for _, a := range []string{LlamaCpp, OpenAI} {
		cl, err := New(Config{URL: s.url(), API: a, Model: "tiny", Retries: -1, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		clients[a] = cl
		mids, err := cl.Fill(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v\n%s", a, err, s.log)
		}
		if len(mids) != 1 || mids[0].Text != tinyQwenMiddle || !mids[0].NoConfidence || mids[0].Tokens == 0 {
			t.Errorf("%s: middles %+v, want %q", a, mids, tinyQwenMiddle)
		}
		if err := cl.Check(context.Background()); err != nil {
			t.Errorf("%s: Check: %v", a, err)
		}
	}
	// Single-line: streamed from llama-server, the same middle.
	for a, cl := range clients {
		single := req
		single.SingleLine = true
		if mids, err := cl.Fill(context.Background(), single); err != nil || len(mids) != 1 || mids[0].Text != tinyQwenMiddle {
			t.Errorf("%s streamed: %+v %v", a, mids, err)
		}
	}
	// input_extra reaches the server (it formats other files with <|file_sep|>) and the answer is unchanged.
	withExtra := req
	withExtra.Related = append(withExtra.Related, chunk("util.go", "func f() {}\n"))
	if mids, err := clients[LlamaCpp].Fill(context.Background(), withExtra); err != nil || mids[0].Text != tinyQwenMiddle {
		t.Errorf("with input_extra: %+v %v", mids, err)
	}

	s.stop()
	for a, cl := range clients {
		_, err := cl.Fill(context.Background(), req)
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s with the server down: %v, want ErrUnreachable", a, err)
		}
		if err := cl.Check(context.Background()); !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: Check with the server down: %v", a, err)
		}
	}
	s.start(t)
	for a, cl := range clients {
		mids, err := cl.Fill(context.Background(), req)
		if err != nil || mids[0].Text != tinyQwenMiddle {
			t.Errorf("%s after the server came back: %+v %v", a, mids, err)
		}
	}
}

func chunk(path, text string) crossfile.Chunk { return crossfile.Chunk{Path: path, Text: text} }
