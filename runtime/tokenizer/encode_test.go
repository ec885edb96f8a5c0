package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"
)

// Public Qwen2/Qwen2.5 ids (dream-model.md §6.1).
func TestKnownIDs(t *testing.T) {
	for name, tok := range referenceTokenizers(t) {
		t.Run(name, func(t *testing.T) {
			for text, want := range map[string][]int{
				"Hello, world!":        {9707, 11, 1879, 0},
				"The quick brown fox.": {785, 3974, 13876, 38835, 13},
			} {
				if diff := cmp.Diff(want, tok.Encode(text)); diff != "" {
					t.Errorf("Encode(%q) (-want +got):\n%s", text, diff)
				}
			}
		})
	}
}

func TestAddedTokens(t *testing.T) {
	for name, tok := range referenceTokenizers(t) {
		t.Run(name, func(t *testing.T) {
			if got := tok.VocabSize(); got != 151667 {
				t.Errorf("VocabSize() = %d, want 151667", got)
			}
			ids := map[string]int{
				"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|fim_prefix|>": 151659,
				"<|beginoftext|>": 151665, "<|mask|>": 151666,
			}
			for tokText, want := range ids {
				if got, ok := tok.TokenID(tokText); !ok || got != want {
					t.Errorf("TokenID(%q) = %d, %v; want %d", tokText, got, ok, want)
				}
			}
			if got, ok := tok.TokenID("Ġthe"); !ok || got != 279 {
				t.Errorf("TokenID(Ġthe) = %d, %v; want 279", got, ok)
			}
			if _, ok := tok.TokenID("<|no such token|>"); ok {
				t.Error("TokenID of an unknown token reported ok")
			}
			// special flags per tokenizer_config.json (dream-model.md §6.2)
			for id, want := range map[int]bool{151643: true, 151645: true, 151657: false, 151659: false, 151664: false, 151665: true, 151666: true, 9707: false} {
				if got := tok.IsSpecial(id); got != want {
					t.Errorf("IsSpecial(%d) = %v, want %v", id, got, want)
				}
			}
			text := "a<|mask|>b<|fim_prefix|>c<|endoftext|>"
			ids2 := tok.EncodeSpecial(text)
			if got := tok.Decode(ids2); got != text {
				t.Errorf("Decode(EncodeSpecial(%q)) = %q", text, got)
			}
			if got, want := tok.DecodeSkipSpecial(ids2), "ab<|fim_prefix|>c"; got != want {
				t.Errorf("DecodeSkipSpecial = %q, want %q", got, want)
			}
			// Added tokens are matched before NFC: a combining mark after one
			// cannot merge into it ('>' + U+0338 would compose to U+226F).
			if got := tok.EncodeSpecial("<|mask|>\u0338"); len(got) < 2 || got[0] != 151666 {
				t.Errorf("EncodeSpecial(<|mask|> U+0338) = %v, want the mask id first", got)
			}
			// Plain mode never yields an added token.
			for _, id := range tok.Encode(text) {
				if tok.IsAdded(id) {
					t.Errorf("Encode(%q) produced added token %d", text, id)
				}
			}
			// Ids outside the vocabulary are skipped, never a panic.
			if got := tok.Decode([]int{-1, 9707, 151667, 152063, 1 << 40}); got != "Hello" {
				t.Errorf("Decode with out-of-range ids = %q, want %q", got, "Hello")
			}
		})
	}
}

func TestDecodeSplitCharacter(t *testing.T) {
	tok := referenceTokenizers(t)["tokenizer.json"]
	ids := tok.Encode("日本語のテキスト😀")
	full := tok.Decode(ids)
	if full != "日本語のテキスト😀" {
		t.Fatalf("Decode = %q", full)
	}
	// Decoding a prefix that ends inside a character replaces the partial
	// character instead of emitting invalid UTF-8.
	for k := range ids {
		if got := tok.Decode(ids[:k]); !utf8.ValidString(got) {
			t.Errorf("Decode(ids[:%d]) = %q, invalid UTF-8", k, got)
		}
	}
}

// checkSpans verifies that spans tile text in order and that each span's
// bytes are what the token stands for (when text is NFC).
func checkSpans(t *testing.T, tok *Tokenizer, text string, ids []int, spans []Span) {
	t.Helper()
	if len(ids) != len(spans) {
		t.Fatalf("%d ids but %d spans", len(ids), len(spans))
	}
	prev := 0
	for k, sp := range spans {
		if sp.Start < prev || sp.End < sp.Start || sp.End > len(text) {
			t.Fatalf("span %d = %+v after %d, text length %d", k, sp, prev, len(text))
		}
		prev = sp.End
	}
	if len(spans) > 0 && (spans[0].Start != 0 || spans[len(spans)-1].End != len(text)) {
		t.Errorf("spans cover [%d, %d), want [0, %d)", spans[0].Start, spans[len(spans)-1].End, len(text))
	}
	if norm.NFC.IsNormalString(text) && utf8.ValidString(text) {
		for k, sp := range spans {
			piece, _ := tok.Piece(ids[k])
			if text[sp.Start:sp.End] != piece {
				t.Errorf("span %d %+v = %q, token %d is %q", k, sp, text[sp.Start:sp.End], ids[k], piece)
			}
		}
	}
}

func TestEncodeWithOffsets(t *testing.T) {
	tok := referenceTokenizers(t)["tokenizer.json"]
	for _, text := range []string{
		"", "func main() {\n\tfmt.Println(\"héllo, 世界\")\n}\n", "a<|mask|>b", "😀 x",
		"cafe\u0301 ok", // NFC composes e + U+0301: the token covers both source characters
		"<|mask|>\u0338x<|endoftext|>e\u0301",
	} {
		ids, spans := tok.EncodeWithOffsets(text)
		if diff := cmp.Diff(tok.Encode(text), ids); diff != "" {
			t.Errorf("EncodeWithOffsets(%q) ids differ from Encode (-want +got):\n%s", text, diff)
		}
		checkSpans(t, tok, text, ids, spans)
		ids, spans = tok.EncodeSpecialWithOffsets(text)
		if diff := cmp.Diff(tok.EncodeSpecial(text), ids); diff != "" {
			t.Errorf("EncodeSpecialWithOffsets(%q) ids differ (-want +got):\n%s", text, diff)
		}
		checkSpans(t, tok, text, ids, spans)
	}
	// The composed character maps back to both source characters.
	text := "cafe\u0301 ok"
	ids, spans := tok.EncodeWithOffsets(text)
	var got []string
	for _, sp := range spans {
		got = append(got, text[sp.Start:sp.End])
	}
	if strings.Join(got, "") != text || len(ids) == 0 {
		t.Errorf("spans %q do not tile %q", got, text)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := referenceTokenizers(t)["tokenizer.json"]
	cases := loadGolden(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(cases); i += 2 {
				if got := tok.Encode(cases[i].Text); !slices.Equal(got, cases[i].Plain) {
					t.Errorf("worker %d case %d: concurrent Encode differs", w, i)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLongWords(t *testing.T) {
	// Pre-tokens longer than smallWord take the heap path; it must agree
	// with the textbook algorithm and round-trip.
	tok := referenceTokenizers(t)["tokenizer.json"]
	for _, w := range []string{
		strings.Repeat("a", 1000), strings.Repeat(" ", 300), strings.Repeat("=", 257),
		strings.Repeat("abcdefghij", 50), strings.Repeat("\n", 99), strings.Repeat("ab", 40),
		strings.Repeat("日本語", 30), "Pneumonoultramicroscopicsilicovolcanoconiosis" + strings.Repeat("x", 30),
	} {
		got := tok.bpeLong(w, nil)
		if want := quadraticBPE(tok, w); !slices.Equal(got, want) {
			t.Errorf("bpeLong(%.10q...) = %v, quadratic = %v", w, got, want)
		}
		if dec := tok.Decode(toInts(got)); dec != w {
			t.Errorf("decode of long word %.10q... = %.10q...", w, dec)
		}
	}
}

// quadraticBPE is the textbook algorithm: merge the lowest-ranked pair
// (leftmost on ties) until none is left.
func quadraticBPE(tok *Tokenizer, word string) []int32 {
	var syms []int32
	for i := 0; i < len(word); i++ {
		if id := tok.byteID[word[i]]; id >= 0 {
			syms = append(syms, id)
		}
	}
	for {
		best, bi, bm := noRank, -1, int32(0)
		for i := 0; i+1 < len(syms); i++ {
			if r, m := tok.merges.get(syms[i], syms[i+1]); r < best {
				best, bi, bm = r, i, m
			}
		}
		if bi < 0 {
			return syms
		}
		syms = slices.Replace(syms, bi, bi+2, bm)
	}
}

func toInts(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// FuzzEncode: encoding never panics on arbitrary bytes; for valid UTF-8,
// decoding returns the NFC form of the input in both modes, plain mode
// never produces an added token, and offsets tile the input.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "hello world", "<|mask|>", "a<|endoftext|>b", "\xff\xfe", "e\u0301\u0301", "日本 😀", "x  \n\t y", strings.Repeat("ab", 100)} {
		f.Add(s)
	}
	tok := referenceTokenizers(f)["tokenizer.json"]
	f.Fuzz(func(t *testing.T, s string) {
		plain := tok.Encode(s)
		special := tok.EncodeSpecial(s)
		ids, spans := tok.EncodeWithOffsets(s)
		if !slices.Equal(ids, plain) {
			t.Fatalf("EncodeWithOffsets ids differ from Encode for %q", s)
		}
		checkSpans(t, tok, s, ids, spans)
		for _, id := range plain {
			if tok.IsAdded(id) {
				t.Fatalf("Encode(%q) produced added token %d", s, id)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		want := norm.NFC.String(s)
		if got := tok.Decode(plain); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
		// Special mode normalizes the text between added tokens piece by
		// piece, which is canonically equivalent to the input.
		if got := norm.NFC.String(tok.Decode(special)); got != want {
			t.Fatalf("NFC(Decode(EncodeSpecial(%q))) = %q, want %q", s, got, want)
		}
	})
}

// FuzzBPE compares both merge loops (the quadratic one for short words and
// the heap for long ones) with the textbook algorithm on arbitrary words.
func FuzzBPE(f *testing.F) {
	for _, s := range []string{"hello", " world", "aaaaaaaa", "\xff\xfe", "日本語", strings.Repeat("ab", 40)} {
		f.Add(s)
	}
	tok := referenceTokenizers(f)["tokenizer.json"]
	f.Fuzz(func(t *testing.T, w string) {
		if len(w) > 4096 {
			return
		}
		want := quadraticBPE(tok, w)
		if got := tok.bpe(w, nil); !slices.Equal(got, want) {
			t.Fatalf("bpe(%q) = %v, want %v", w, got, want)
		}
		if got := tok.bpeLong(w, nil); !slices.Equal(got, want) {
			t.Fatalf("bpeLong(%q) = %v, want %v", w, got, want)
		}
	})
}
