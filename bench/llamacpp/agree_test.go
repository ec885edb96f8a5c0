package llamacpp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
)

// agreePrompt is the fixed prompt both runners continue (tokenized by
// each with Dream's tokenizer: a mismatch there shows as a different
// output, since llama.cpp fills -ub minus its prompt length).
const agreePrompt = "func (s *Server) handle(ctx context.Context, req *Request) error {\n\tif req == nil {\n\t\treturn"

// llamaRendersEmpty are Dream's added tokens that llama.cpp's vocabulary
// loader turns into control tokens ("control-looking token ... its type
// will be overridden"), so its text output drops them; our tokenizer
// keeps them as plain added tokens.
var llamaRendersEmpty = map[string]bool{"<|fim_prefix|>": true, "<|fim_middle|>": true, "<|fim_suffix|>": true,
	"<|fim_pad|>": true, "<|repo_name|>": true, "<|file_sep|>": true, "</s>": true}

// TestGreedyLeftToRightMatchesLlamaCpp writes a tiny random-weight Dream
// GGUF (F32, Dream's real vocabulary), denoises the same prompt + masks
// with llama-diffusion-cli (--top-k 1: every confidence ties at 1, so its
// stable sort reveals the leftmost mask each step) and with our runtime
// (confidence_threshold with blocks of one slot: the leftmost mask each
// step, checked below), and requires the same generated text. llama.cpp
// prints text, not ids, so the comparison is on the decoded bytes of the
// masked slots, with the tokens llama.cpp renders empty left out.
func TestGreedyLeftToRightMatchesLlamaCpp(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs llama.cpp and writes a 160 MB GGUF")
	}
	root, err := sharedpath.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	llama := filepath.Join(root, "infill/remote/.llama")
	cli := filepath.Join(llama, "llama-diffusion-cli")
	if _, err := os.Stat(cli); err != nil {
		testenv.Missingf(t, "llama-diffusion-cli not unpacked (run bash infill/remote/testdata/fetch-llama.sh): %v", err)
	}
	tokDir := sharedpath.Path(t, "reference", "dream-v0-7b")
	dir := t.TempDir()
	py := exec.Command("/usr/bin/python3", "mkdream.py", "--shape", "tiny", "--tokenizer", tokDir, filepath.Join(dir, "tiny"), "f32")
	py.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(llama, "root/usr/lib/python3/dist-packages"))
	if out, err := py.CombinedOutput(); err != nil {
		testenv.Missingf(t, "writing the GGUF with Debian's python3-gguf failed (needs python3-numpy, python3-yaml, python3-tqdm): %v\n%s", err, out)
	}
	model := filepath.Join(dir, "tiny-f32.gguf")

	e, err := engine.Open(model, engine.Options{Threads: 2})
	if err != nil {
		t.Fatalf("our runtime cannot open the file llama.cpp reads: %v", err)
	}
	defer e.Close()
	tok := e.Tokenizer()
	prompt := tok.Encode(agreePrompt)
	const masks = 12
	canvas := slices.Clone(prompt)
	mask := e.Config().MaskTokenID
	for range masks {
		canvas = append(canvas, mask)
	}
	prev := slices.Clone(canvas)
	req := denoise.Request{
		Canvases: [][]int{canvas},
		Steps:    masks,
		Sampler:  sampler.Options{Alg: sampler.ConfidenceThreshold, BlockSize: 1, TopK: 1},
		OnStep: func(step int, c [][]int) {
			// Exactly one commit per step, at the leftmost masked slot.
			want := slices.Index(prev, mask)
			for i := range c[0] {
				if (c[0][i] != prev[i]) != (i == want) {
					t.Errorf("step %d: slot %d changed from %d to %d; want only slot %d (left to right)", step, i, prev[i], c[0][i], want)
				}
			}
			copy(prev, c[0])
		},
	}
	res, err := e.Denoise(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	gen := res.Canvases[0][len(prompt):]
	ours := renderLikeLlama(tok, gen)

	n := len(canvas)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "-m", model, "-p", agreePrompt,
		"-ub", fmt.Sprint(n), "-b", fmt.Sprint(n), "-c", fmt.Sprint(n), "-t", "2", "-tb", "2",
		"--top-k", "1", "--temp", "0", "--seed", "1",
		"--diffusion-steps", fmt.Sprint(masks), "--diffusion-block-length", fmt.Sprint(n), "--log-jsonl")
	cmd.Env = append(os.Environ(), "LLAMA_GGML_BACKEND=best")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llama-diffusion-cli: %v\n%s", err, tail(stderr.String(), 2000))
	}
	theirs, err := llamaOutput(out)
	if err != nil {
		t.Fatalf("%v\nstdout tail:\n%s", err, tail(string(out), 2000))
	}
	if ours != theirs {
		t.Fatalf("greedy left-to-right outputs differ after %d prompt tokens + %d masks:\nours  %q (ids %v)\nllama %q", len(prompt), masks, ours, gen, theirs)
	}
	t.Logf("%d prompt tokens + %d masks: both give %q", len(prompt), masks, ours)
}

// renderLikeLlama decodes ids as llama.cpp's common_detokenize(special =
// false) prints them: control tokens (ours: special added tokens, plus
// the ones llama.cpp promotes to control) render as nothing.
func renderLikeLlama(tok *tokenizer.Tokenizer, ids []int) string {
	var keep []int
	for _, id := range ids {
		if llamaRendersEmpty[tok.Decode([]int{id})] {
			continue
		}
		keep = append(keep, id)
	}
	return tok.DecodeSkipSpecial(keep)
}

// llamaOutput finds the generated text in llama-diffusion-cli's
// --log-jsonl stdout: the message after "total time: ...", "\n" + text +
// "\n".
func llamaOutput(stdout []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	timed := false
	for sc.Scan() {
		var rec struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		if timed {
			s, ok := strings.CutPrefix(rec.Msg, "\n")
			if s, ok2 := strings.CutSuffix(s, "\n"); ok && ok2 {
				return s, nil
			}
			return "", fmt.Errorf("llama-diffusion-cli: output message %q is not \"\\n\" + text + \"\\n\"", rec.Msg)
		}
		timed = strings.Contains(rec.Msg, "total time:")
	}
	return "", fmt.Errorf("llama-diffusion-cli: no output after the \"total time\" line")
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
