package tokenizer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// tinyVocab returns a small byte-level vocabulary (all 256 bytes, then the
// merged tokens) and its merges, in byte-level form.
func tinyVocab() (map[string]int, [][2]string) {
	vocab := map[string]int{}
	for b := range 256 {
		vocab[byteLevelString[b]] = b
	}
	merges := [][2]string{
		{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"i", "n"}, {"Ġ", "in"}, {"1", "2"}, {"Ġ", "Ġ"},
		{"e", "r"}, {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}, {"l", "d"}, {"Ġwor", "ld"},
	}
	for _, m := range merges {
		if _, ok := vocab[m[0]+m[1]]; !ok {
			vocab[m[0]+m[1]] = len(vocab)
		}
	}
	return vocab, merges
}

// tinyTokenizerJSON writes a tokenizer.json for tinyVocab with the given
// pre-tokenizer and normalizer, merges as "a b" strings or as pairs.
func tinyTokenizerJSON(t testing.TB, preTokenizer, normalizer string, pairMerges bool) []byte {
	t.Helper()
	vocab, merges := tinyVocab()
	var m any
	if pairMerges {
		m = merges
	} else {
		var strs []string
		for _, p := range merges {
			strs = append(strs, p[0]+" "+p[1])
		}
		m = strs
	}
	n := len(vocab)
	doc := map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []map[string]any{
			{"id": n, "content": "<|endoftext|>", "special": true, "normalized": false},
			{"id": n + 1, "content": "<|mask|>", "special": true, "normalized": false},
			{"id": n + 2, "content": "<|fim_prefix|>", "special": false, "normalized": false},
		},
		"normalizer":    json.RawMessage(normalizer),
		"pre_tokenizer": json.RawMessage(preTokenizer),
		"decoder":       map[string]any{"type": "ByteLevel"},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "fuse_unk": false, "byte_fallback": false,
			"ignore_merges": false, "vocab": vocab, "merges": m,
		},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var (
	qwenPre = `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + jsonString(qwenPattern) +
		`},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`
	gpt2Pre      = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`
	gpt2SeqPre   = `{"type":"Sequence","pretokenizers":[` + gpt2Pre + `]}`
	gpt2SplitPre = `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + jsonString(gpt2Pattern) +
		`},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]}`
)

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func loadFromFiles(t *testing.T, files map[string][]byte) (*Tokenizer, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: data}
	}
	return LoadFS(fsys)
}

// slowFiles writes tinyVocab in the vocab.json + merges.txt layout.
func slowFiles(t *testing.T) map[string][]byte {
	vocab, merges := tinyVocab()
	v, err := json.Marshal(vocab)
	if err != nil {
		t.Fatal(err)
	}
	var m strings.Builder
	m.WriteString("#version: 0.2\n")
	for _, p := range merges {
		m.WriteString(p[0] + " " + p[1] + "\n")
	}
	n := len(vocab)
	added, _ := json.Marshal(map[string]int{"<|endoftext|>": n, "<|mask|>": n + 1, "<|fim_prefix|>": n + 2})
	cfg, _ := json.Marshal(map[string]any{"added_tokens_decoder": map[string]any{
		jsonNumber(n + 2): map[string]any{"content": "<|fim_prefix|>", "special": false},
	}})
	smap := []byte(`{"eos_token": {"content": "<|endoftext|>"}, "additional_special_tokens": ["<|mask|>"]}`)
	return map[string][]byte{"vocab.json": v, "merges.txt": []byte(m.String()), "added_tokens.json": added,
		"tokenizer_config.json": cfg, "special_tokens_map.json": smap}
}

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

var loaderTexts = []string{
	"the world in the winter", " the  the\n\nthe", "12 123 1212", "x\u00a0the", "<|mask|>the<|fim_prefix|>",
	"cafe\u0301", "", "don't", "  \t the",
}

// TestLoaderVariants: the layouts a tokenizer.json may use for the same
// Qwen-style tokenizer, and the slow files, all give the same tokenizer.
func TestLoaderVariants(t *testing.T) {
	want, err := loadFromFiles(t, slowFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string][]byte{
		"pairs, NFC":           tinyTokenizerJSON(t, qwenPre, `{"type":"NFC"}`, true),
		"strings, NFC":         tinyTokenizerJSON(t, qwenPre, `{"type":"NFC"}`, false),
		"pairs, Sequence[NFC]": tinyTokenizerJSON(t, qwenPre, `{"type":"Sequence","normalizers":[{"type":"NFC"}]}`, true),
	}
	for name, data := range variants {
		t.Run(name, func(t *testing.T) {
			got, err := loadFromFiles(t, map[string][]byte{"tokenizer.json": data})
			if err != nil {
				t.Fatal(err)
			}
			for _, text := range loaderTexts {
				if diff := cmp.Diff(want.EncodeSpecial(text), got.EncodeSpecial(text)); diff != "" {
					t.Errorf("EncodeSpecial(%q) (-slow +json):\n%s", text, diff)
				}
				if diff := cmp.Diff(want.Encode(text), got.Encode(text)); diff != "" {
					t.Errorf("Encode(%q) (-slow +json):\n%s", text, diff)
				}
			}
			if got.VocabSize() != want.VocabSize() {
				t.Errorf("VocabSize %d, slow %d", got.VocabSize(), want.VocabSize())
			}
		})
	}
	// Spot checks of the merges and flags.
	// "the": t h e -> t he ("Ġt he" needs Ġt); " the": Ġ t h e -> Ġt he -> Ġthe.
	he, _ := want.TokenID("he")
	spThe, _ := want.TokenID("Ġthe")
	if diff := cmp.Diff([]int{'t', he, spThe}, want.Encode("the the")); diff != "" {
		t.Errorf("Encode(the the) (-want +got):\n%s", diff)
	}
	mask, _ := want.TokenID("<|mask|>")
	fim, _ := want.TokenID("<|fim_prefix|>")
	eot, _ := want.TokenID("<|endoftext|>")
	if !want.IsSpecial(mask) || !want.IsSpecial(eot) || want.IsSpecial(fim) || !want.IsAdded(fim) {
		t.Errorf("special flags: mask %v eot %v fim %v (added %v)", want.IsSpecial(mask), want.IsSpecial(eot), want.IsSpecial(fim), want.IsAdded(fim))
	}
}

// TestGPT2Layout: ByteLevel with use_regex (alone, in a Sequence, or as an
// explicit Split) splits with GPT-2's pattern and skips NFC when there is no
// normalizer.
func TestGPT2Layout(t *testing.T) {
	for name, pre := range map[string]string{"ByteLevel": gpt2Pre, "Sequence[ByteLevel]": gpt2SeqPre, "Split": gpt2SplitPre} {
		t.Run(name, func(t *testing.T) {
			tok, err := loadFromFiles(t, map[string][]byte{"tokenizer.json": tinyTokenizerJSON(t, pre, "null", true)})
			if err != nil {
				t.Fatal(err)
			}
			if tok.split != splitGPT2 || tok.nfc {
				t.Fatalf("split %v nfc %v, want GPT-2 split without NFC", tok.split, tok.nfc)
			}
			twelve, _ := tok.TokenID("12")
			// GPT-2 keeps digit runs together, so "12" merges; Qwen splits digits.
			if diff := cmp.Diff([]int{twelve}, tok.Encode("12")); diff != "" {
				t.Errorf("Encode(12) (-want +got):\n%s", diff)
			}
			if got := tok.Decode(tok.Encode("cafe\u0301")); got != "cafe\u0301" {
				t.Errorf("without NFC the text must round-trip unchanged, got %q", got)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	good := tinyTokenizerJSON(t, qwenPre, `{"type":"NFC"}`, true)
	tests := map[string]struct {
		files       map[string][]byte
		unsupported bool
	}{
		"no files":           {files: map[string][]byte{}},
		"truncated":          {files: map[string][]byte{"tokenizer.json": good[:len(good)/2]}},
		"not json":           {files: map[string][]byte{"tokenizer.json": []byte("hello")}},
		"trailing data":      {files: map[string][]byte{"tokenizer.json": append(append([]byte{}, good...), "{}"...)}},
		"wordpiece":          {files: map[string][]byte{"tokenizer.json": []byte(strings.Replace(string(good), `"type":"BPE"`, `"type":"WordPiece"`, 1))}, unsupported: true},
		"unknown regex":      {files: map[string][]byte{"tokenizer.json": tinyTokenizerJSON(t, strings.Replace(qwenPre, `\\p{N}|`, `\\p{N}{1,3}|`, 1), "null", true)}, unsupported: true},
		"NFKC":               {files: map[string][]byte{"tokenizer.json": tinyTokenizerJSON(t, qwenPre, `{"type":"NFKC"}`, true)}, unsupported: true},
		"merge not in vocab": {files: map[string][]byte{"tokenizer.json": []byte(strings.Replace(string(good), `["Ġ","t"]`, `["Ġ","zzz"]`, 1))}},
		"merges.txt bad line": {files: func() map[string][]byte {
			f := slowFiles(t)
			f["merges.txt"] = []byte("#version: 0.2\nĠ t x\n")
			return f
		}()},
		"vocab.json bad": {files: func() map[string][]byte {
			f := slowFiles(t)
			f["vocab.json"] = []byte(`{"a": "b"}`)
			return f
		}()},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			tok, err := loadFromFiles(t, tt.files)
			if err == nil {
				t.Fatalf("loaded %v, want an error", tok != nil)
			}
			if tt.unsupported != errors.Is(err, ErrUnsupported) {
				t.Errorf("error %v: errors.Is(ErrUnsupported) = %v, want %v", err, !tt.unsupported, tt.unsupported)
			}
		})
	}
	// Load names the directory.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load error %v does not name %s", err, dir)
	}
}

// FuzzLoadTokenizerJSON: a corrupt tokenizer.json gives an error, never a
// panic, and whatever loads can encode and decode.
func FuzzLoadTokenizerJSON(f *testing.F) {
	f.Add(tinyTokenizerJSON(f, qwenPre, `{"type":"NFC"}`, true))
	f.Add(tinyTokenizerJSON(f, gpt2Pre, `null`, false))
	f.Add([]byte(`{"model":{"vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":` + gpt2Pre + `}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := LoadFS(fstest.MapFS{"tokenizer.json": &fstest.MapFile{Data: data}})
		if err != nil {
			return
		}
		ids := tok.EncodeSpecial("ab the <|mask|> 12")
		_ = tok.Decode(ids)
		_ = tok.Decode([]int{-1, 0, 1, tok.VocabSize()})
	})
}
