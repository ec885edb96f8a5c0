package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNewMatchesLoad: New on the reference Dream tokenizer's tables
// (vocab.json, merges.txt, the added tokens with their special flags)
// builds the tokenizer Load builds from the files: same pieces and flags
// for every id, same golden encodings.
func TestNewMatchesLoad(t *testing.T) {
	dir := referenceDir(t)
	want := referenceTokenizers(t)["vocab+merges"]
	var vocab map[string]int
	readJSON(t, filepath.Join(dir, "vocab.json"), &vocab)
	data, err := os.ReadFile(filepath.Join(dir, "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	merges, err := parseMergesTxt(data)
	if err != nil {
		t.Fatal(err)
	}
	var added []AddedToken
	for _, a := range want.added {
		added = append(added, AddedToken{Content: a.content, ID: a.id, Special: a.special})
	}
	got, err := New(Parts{Vocab: vocab, Merges: merges, Added: added})
	if err != nil {
		t.Fatal(err)
	}
	if got.VocabSize() != want.VocabSize() || !slices.Equal(got.pieces, want.pieces) || !slices.Equal(got.flags, want.flags) {
		t.Fatalf("tables differ: size %d/%d, pieces equal %v, flags equal %v", got.VocabSize(), want.VocabSize(),
			slices.Equal(got.pieces, want.pieces), slices.Equal(got.flags, want.flags))
	}
	if got.split != splitQwen || !got.nfc {
		t.Errorf("split %v nfc %v, want Qwen2's split with NFC", got.split, got.nfc)
	}
	for _, c := range loadGolden(t) {
		if diff := cmp.Diff(c.Specials, got.EncodeSpecial(c.Text)); diff != "" {
			t.Fatalf("EncodeSpecial(%q) (-golden +New):\n%s", c.Text, diff)
		}
		if diff := cmp.Diff(c.Plain, got.Encode(c.Text)); diff != "" {
			t.Fatalf("Encode(%q) (-golden +New):\n%s", c.Text, diff)
		}
	}
}

// TestNewChecks: New refuses what Load refuses in the files.
func TestNewChecks(t *testing.T) {
	vocab, merges := tinyVocab()
	n := len(vocab)
	for _, tc := range []struct {
		name  string
		parts Parts
		want  string
	}{
		{"empty vocabulary", Parts{}, "empty vocabulary"},
		{"merge of an unknown token", Parts{Vocab: vocab, Merges: append(slices.Clone(merges), [2]string{"zz", "q"})}, "not in the vocabulary"},
		{"added id out of range", Parts{Vocab: vocab, Added: []AddedToken{{Content: "<x>", ID: 1 << 30}}}, "out of range"},
		{"empty added token", Parts{Vocab: vocab, Added: []AddedToken{{ID: n}}}, "empty content"},
		{"negative vocabulary id", Parts{Vocab: map[string]int{"a": -1}}, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.parts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	tok, err := New(Parts{Vocab: vocab, Merges: merges, GPT2: true})
	if err != nil {
		t.Fatal(err)
	}
	if tok.split != splitGPT2 || tok.nfc {
		t.Errorf("GPT2: split %v nfc %v, want GPT-2's split without NFC", tok.split, tok.nfc)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}
