package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"
)

// goldenCase is one entry of shared/golden/tokenizer/dream_qwen2_cases.json:
// the ids Hugging Face gives with added tokens recognised (Specials) and with
// added-token splitting off (Plain).
type goldenCase struct {
	Text     string `json:"text"`
	Specials []int  `json:"specials"`
	Plain    []int  `json:"plain"`
}

func loadGolden(t testing.TB) []goldenCase {
	t.Helper()
	path := sharedpath.Path(t, "golden", "tokenizer", "dream_qwen2_cases.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return cases
}

// referenceDir is the Dream checkpoint directory with both tokenizer
// layouts (tokenizer.json and vocab.json + merges.txt).
func referenceDir(t testing.TB) string {
	t.Helper()
	return sharedpath.Path(t, "reference", "dream-v0-7b")
}

var (
	refOnce  sync.Once
	refToks  map[string]*Tokenizer
	refError error
)

// referenceTokenizers loads the reference tokenizer once with each loader.
func referenceTokenizers(t testing.TB) map[string]*Tokenizer {
	t.Helper()
	dir := referenceDir(t)
	refOnce.Do(func() {
		fsys := os.DirFS(dir)
		fast, err := loadTokenizerJSON(fsys)
		if err != nil {
			refError = err
			return
		}
		slow, err := loadVocabMerges(fsys)
		if err != nil {
			refError = err
			return
		}
		refToks = map[string]*Tokenizer{"tokenizer.json": fast, "vocab+merges": slow}
	})
	if refError != nil {
		t.Fatalf("load %s: %v", dir, refError)
	}
	return refToks
}

func TestGoldenCases(t *testing.T) {
	cases := loadGolden(t)
	if len(cases) != 354 {
		t.Errorf("got %d golden cases, want 354", len(cases))
	}
	for name, tok := range referenceTokenizers(t) {
		t.Run(name, func(t *testing.T) {
			failed := 0
			for i, c := range cases {
				if diff := cmp.Diff(c.Plain, tok.Encode(c.Text)); diff != "" {
					failed++
					t.Errorf("case %d plain %q (-want +got):\n%s", i, truncate(c.Text), diff)
				}
				if diff := cmp.Diff(c.Specials, tok.EncodeSpecial(c.Text)); diff != "" {
					failed++
					t.Errorf("case %d specials %q (-want +got):\n%s", i, truncate(c.Text), diff)
				}
				want := norm.NFC.String(c.Text)
				if got := tok.Decode(tok.Encode(c.Text)); got != want {
					failed++
					t.Errorf("case %d: Decode(Encode(x)) = %q, want NFC(x) = %q", i, truncate(got), truncate(want))
				}
				if got := tok.Decode(tok.EncodeSpecial(c.Text)); got != want {
					failed++
					t.Errorf("case %d: Decode(EncodeSpecial(x)) = %q, want NFC(x) = %q", i, truncate(got), truncate(want))
				}
				if failed > 20 {
					t.Fatal("too many failures")
				}
			}
		})
	}
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

var _ = filepath.Join
