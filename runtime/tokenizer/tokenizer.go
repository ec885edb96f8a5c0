// Package tokenizer implements the byte-level BPE tokenizer of Qwen2.5, which
// Dream uses, and gives the same ids as Hugging Face's tokenizers.
//
// A Tokenizer loads from a model directory, either from tokenizer.json or
// from vocab.json + merges.txt + added_tokens.json (+ tokenizer_config.json
// and special_tokens_map.json). Encoding normalizes to NFC, splits the text
// into pre-tokens with Qwen2's pattern (a hand-written scanner, since Go's
// regexp has no look-ahead), maps bytes to GPT-2's byte-level alphabet and
// merges by rank.
//
// There are two encode modes. Encode treats the whole input as text, so a
// "<|mask|>" typed in a user's file is encoded as the characters it is made
// of; use it for all user text. EncodeSpecial first splits out the added
// tokens ("<|endoftext|>", "<|mask|>", ...), for prompts the program builds.
//
// Input that is not valid UTF-8 is accepted: each invalid byte is a
// character of its own for the pre-tokenizer and is encoded as that byte,
// and Decode renders it as U+FFFD.
//
// A Tokenizer is immutable after loading (apart from its bounded word
// cache) and safe for concurrent use.
package tokenizer

import (
	"slices"
	"strings"
)

// Tokenizer is a loaded byte-level BPE tokenizer. Token ids are ints, as
// everywhere in the runtime.
type Tokenizer struct {
	vocab        map[string]int // byte-level text -> id (the BPE model's vocabulary)
	merges       mergeTable
	byteID       [256]int32 // id of each byte's one-character symbol, or -1
	pieces       []string   // id -> raw bytes (model tokens) or content (added tokens)
	flags        []uint8    // id -> flagModel|flagAdded|flagSpecial
	added        []addedToken
	addedIDs     map[string]int
	addedFirst   [256]bool // bytes that start an added token
	split        splitKind
	nfc          bool
	ignoreMerges bool
	size         int
	cache        wordCache
}

const (
	flagModel   uint8 = 1 << iota // the id has a token in the BPE vocabulary
	flagAdded                     // the id is an added token
	flagSpecial                   // the added token is special (skipped by DecodeSkipSpecial)
)

// addedToken is a token matched as a whole in EncodeSpecial.
type addedToken struct {
	content string
	id      int
	special bool
}

// Span is the byte range [Start, End) of a token in the text given to
// EncodeWithOffsets or EncodeSpecialWithOffsets.
type Span struct {
	Start, End int
}

// Encode returns the ids of text in plain mode: added tokens such as
// "<|mask|>" or "<|endoftext|>" appearing in text are ordinary text. Use it
// for all user text.
func (t *Tokenizer) Encode(text string) []int {
	ids, _ := t.encode(text, false, false)
	return ids
}

// EncodeSpecial returns the ids of text with added tokens recognised: each
// occurrence of an added token's content becomes its id (longest match
// first). Use it only for prompts the program builds. Added tokens are
// matched before NFC normalization, as in Hugging Face's tokenizers (Rust
// and JavaScript); Dream's slow Python tokenizer normalizes first, which
// differs only when a combining mark such as U+0338 follows an added token.
func (t *Tokenizer) EncodeSpecial(text string) []int {
	ids, _ := t.encode(text, true, false)
	return ids
}

// EncodeWithOffsets is Encode that also returns, for each id, the byte range
// of text it came from. Spans are in order, never overlap and together cover
// text. Where text is NFC, a span holds exactly the token's bytes (a token
// may hold part of a multi-byte character). Where NFC normalization changed
// characters, the first token from them spans all their source bytes and
// any further tokens from them get empty spans at its end.
func (t *Tokenizer) EncodeWithOffsets(text string) ([]int, []Span) {
	return t.encode(text, false, true)
}

// EncodeSpecialWithOffsets is EncodeSpecial that also returns byte ranges,
// as EncodeWithOffsets does.
func (t *Tokenizer) EncodeSpecialWithOffsets(text string) ([]int, []Span) {
	return t.encode(text, true, true)
}

// encoder is the state of one encode call.
type encoder struct {
	t     *Tokenizer
	ids   []int
	spans []Span
	buf   []int32
	want  bool       // collect spans
	align *alignment // normalized -> source offsets of the current piece (nil: identical)
	base  int        // source offset of the current piece
}

func (t *Tokenizer) encode(text string, special, withSpans bool) ([]int, []Span) {
	e := encoder{t: t, want: withSpans}
	e.ids = make([]int, 0, len(text)/2+8)
	if withSpans {
		e.spans = make([]Span, 0, len(text)/2+8)
	}
	if !special || len(t.added) == 0 {
		e.text(text, 0)
		return e.ids, e.spans
	}
	// Added tokens are matched in the raw text and the text between them is
	// normalized piece by piece, as Hugging Face's tokenizers do for added
	// tokens with normalized=false: a control token in a prompt always
	// survives, even before a combining mark.
	start := 0
	for i := 0; i < len(text); {
		if !t.addedFirst[text[i]] {
			i++
			continue
		}
		a, ok := t.matchAdded(text[i:])
		if !ok {
			i++
			continue
		}
		e.text(text[start:i], start)
		e.align, e.base = nil, 0
		e.emit(a.id, i, i+len(a.content))
		i += len(a.content)
		start = i
	}
	e.text(text[start:], start)
	return e.ids, e.spans
}

// text normalizes and encodes one piece of text without added tokens; base
// is its offset in the source text.
func (e *encoder) text(raw string, base int) {
	s := raw
	e.align, e.base = nil, base
	if e.t.nfc {
		if e.want {
			s, e.align = nfcAligned(raw)
		} else {
			s = nfc(raw)
		}
	}
	e.segment(s)
}

// matchAdded returns the longest added token that s starts with.
func (t *Tokenizer) matchAdded(s string) (addedToken, bool) {
	for _, a := range t.added { // longest first
		if strings.HasPrefix(s, a.content) {
			return a, true
		}
	}
	return addedToken{}, false
}

// emit appends one id whose normalized bytes are [start, end) in the
// current piece.
func (e *encoder) emit(id, start, end int) {
	e.ids = append(e.ids, id)
	if e.want {
		s, en := e.align.span(start, end)
		s, en = s+e.base, en+e.base
		if n := len(e.spans); n > 0 {
			// Tokens inside one character changed by NFC share its source
			// bytes: the first takes them all, the rest are empty.
			s = max(s, e.spans[n-1].End)
			en = max(en, s)
		}
		e.spans = append(e.spans, Span{s, en})
	}
}

// segment encodes normalized text without added tokens.
func (e *encoder) segment(seg string) {
	t := e.t
	for i := 0; i < len(seg); {
		j := t.split.next(seg, i)
		word := seg[i:j]
		if len(word) == 1 {
			if id := t.byteID[word[0]]; id >= 0 {
				e.emit(int(id), i, j)
			}
			i = j
			continue
		}
		ids, ok := t.cache.get(word)
		if !ok {
			e.buf = t.bpe(word, e.buf[:0])
			ids = slices.Clone(e.buf)
			t.cache.put(word, ids)
		}
		if !e.want {
			for _, id := range ids {
				e.ids = append(e.ids, int(id))
			}
		} else {
			off := i
			for k, id := range ids {
				end := min(off+len(t.pieces[id]), j)
				if k == len(ids)-1 {
					end = j
				}
				e.emit(int(id), off, end)
				off = end
			}
		}
		i = j
	}
}

// Decode returns the text of ids: the tokens' bytes joined, with each
// ill-formed UTF-8 sequence replaced by U+FFFD, and added tokens rendered as
// their text. Ids outside the vocabulary are skipped. Decode a whole span of
// ids at once: a token boundary can split a character.
func (t *Tokenizer) Decode(ids []int) string {
	return t.decode(ids, false)
}

// DecodeSkipSpecial is Decode without the special added tokens
// ("<|endoftext|>", "<|mask|>", ...). Non-special added tokens such as
// "<|fim_prefix|>" are kept, as in Hugging Face's skip_special_tokens.
func (t *Tokenizer) DecodeSkipSpecial(ids []int) string {
	return t.decode(ids, true)
}

func (t *Tokenizer) decode(ids []int, skipSpecial bool) string {
	raw := make([]byte, 0, len(ids)*4)
	for _, id := range ids {
		if id < 0 || id >= len(t.pieces) || t.flags[id] == 0 {
			continue
		}
		if skipSpecial && t.flags[id]&flagSpecial != 0 {
			continue
		}
		raw = append(raw, t.pieces[id]...)
	}
	if isASCII(raw) {
		return string(raw)
	}
	return string(appendLossy(make([]byte, 0, len(raw)+8), raw))
}

// Piece returns the raw bytes of one token (an added token's text for added
// tokens), which need not be valid UTF-8, and whether id is a token.
func (t *Tokenizer) Piece(id int) (string, bool) {
	if id < 0 || id >= len(t.pieces) || t.flags[id] == 0 {
		return "", false
	}
	return t.pieces[id], true
}

// TokenID returns the id of an added token ("<|mask|>", "<|endoftext|>")
// or of a vocabulary entry written in byte-level form ("Ġthe").
func (t *Tokenizer) TokenID(token string) (int, bool) {
	if id, ok := t.addedIDs[token]; ok {
		return id, true
	}
	id, ok := t.vocab[token]
	return id, ok
}

// IsSpecial reports whether id is a special added token, one that
// DecodeSkipSpecial drops.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.flags) && t.flags[id]&flagSpecial != 0
}

// IsAdded reports whether id is an added token (special or not).
func (t *Tokenizer) IsAdded(id int) bool {
	return id >= 0 && id < len(t.flags) && t.flags[id]&flagAdded != 0
}

// VocabSize returns one more than the largest token id, added tokens
// included (151667 for Dream). The model's embedding may have more rows.
func (t *Tokenizer) VocabSize() int {
	return t.size
}
