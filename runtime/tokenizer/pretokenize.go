package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// splitKind selects the pre-tokenization pattern.
type splitKind uint8

const (
	// splitQwen is Qwen2's pattern (digits one by one):
	//
	//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	splitQwen splitKind = iota
	// splitGPT2 is the pattern of the ByteLevel pre-tokenizer with use_regex:
	//
	//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
	splitGPT2
	// splitNone keeps the whole text as one piece.
	splitNone
)

// qwenPattern and gpt2Pattern are the patterns as they appear in
// tokenizer.json files.
const (
	qwenPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// Character classes of the patterns: \p{L}, \p{N}, \s (Unicode White_Space)
// and everything else. The patterns' alternatives never overlap these
// classes, so one class per code point suffices.
const (
	classOther uint8 = iota
	classLetter
	classNumber
	classSpace
)

// asciiClass is the class of each ASCII byte.
var asciiClass [utf8.RuneSelf]uint8

func init() {
	for b := 0; b < utf8.RuneSelf; b++ {
		asciiClass[b] = classOfRune(rune(b))
	}
}

// classOfRune classifies one code point. Go's unicode.IsSpace is exactly
// the White_Space property that \s means in Oniguruma and Python's regex.
func classOfRune(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// runeAt decodes the code point at s[i] and returns it with its class and
// width. Invalid UTF-8 decodes as U+FFFD of width 1 (class other), as in
// Go's regexp. i must be < len(s).
func runeAt(s string, i int) (rune, uint8, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return r, classOfRune(r), w
}

// classAt is runeAt without the rune; it returns classOther past the end
// with width 0 so callers can test the next character without bounds checks.
func classAt(s string, i int) (uint8, int) {
	if i >= len(s) {
		return classOther, 0
	}
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return classOfRune(r), w
}

// skipClass returns the end of the run of class k starting at i.
func skipClass(s string, i int, k uint8) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiClass[c] != k {
				return i
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if classOfRune(r) != k {
			return i
		}
		i += w
	}
	return i
}

// skipNewlines returns the end of the run of '\r' and '\n' starting at i.
func skipNewlines(s string, i int) int {
	for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// contraction returns the length of the English contraction ('s, 't, 're,
// 've, 'm, 'll, 'd) at s[i], which holds an apostrophe, or 0. With fold,
// letters match case-insensitively under Unicode simple case folding (so
// 's also matches 'S and U+017F LATIN SMALL LETTER LONG S).
func contraction(s string, i int, fold bool) int {
	rest := s[i+1:]
	if len(rest) == 0 {
		return 0
	}
	lower := func(b byte) byte {
		if fold && b >= 'A' && b <= 'Z' {
			return b + ('a' - 'A')
		}
		return b
	}
	switch lower(rest[0]) {
	case 's', 't', 'm', 'd':
		return 2
	case 'r':
		if len(rest) > 1 && lower(rest[1]) == 'e' {
			return 3
		}
	case 'v':
		if len(rest) > 1 && lower(rest[1]) == 'e' {
			return 3
		}
	case 'l':
		if len(rest) > 1 && lower(rest[1]) == 'l' {
			return 3
		}
	case 0xC5: // U+017F ſ is C5 BF and folds to 's'.
		if fold && len(rest) > 1 && rest[1] == 0xBF {
			return 3
		}
	}
	return 0
}

// nextQwen returns the end of the pre-token that starts at s[i] (i <
// len(s)) under Qwen2's pattern, trying its alternatives in order as a
// backtracking engine does.
func nextQwen(s string, i int) int {
	r0, k0, w0 := runeAt(s, i)
	j := i + w0
	switch k0 {
	case classLetter: // [^\r\n\p{L}\p{N}]?\p{L}+ with the option empty
		return skipClass(s, j, classLetter)
	case classNumber: // \p{N}
		return j
	case classOther:
		if r0 == '\'' {
			if n := contraction(s, i, true); n > 0 {
				return i + n
			}
		}
		if k1, w1 := classAt(s, j); k1 == classLetter {
			return skipClass(s, j+w1, classLetter)
		}
		// ?[^\s\p{L}\p{N}]+[\r\n]* without the space
		return skipNewlines(s, skipClass(s, j, classOther))
	}
	// Whitespace.
	k1, w1 := classAt(s, j)
	if r0 != '\r' && r0 != '\n' && k1 == classLetter {
		return skipClass(s, j+w1, classLetter)
	}
	if r0 == ' ' && k1 == classOther && w1 > 0 {
		return skipNewlines(s, skipClass(s, j+w1, classOther))
	}
	// \s*[\r\n]+ | \s+(?!\S) | \s+ over the whitespace run starting at i.
	return whitespaceEnd(s, i, r0, j, true)
}

// whitespaceEnd resolves the whitespace alternatives at s[i], whose first
// rune r0 ends at j. With newlines, \s*[\r\n]+ is tried first: it ends
// after the run's last '\r' or '\n'. Then \s+(?!\S) keeps the whole run at
// the end of the text and otherwise leaves its last character for the next
// token, and \s+ takes a lone whitespace character.
func whitespaceEnd(s string, i int, r0 rune, j int, newlines bool) int {
	lastNL := -1
	if r0 == '\r' || r0 == '\n' {
		lastNL = j
	}
	last := i // start of the run's last character
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			if asciiClass[c] != classSpace {
				break
			}
			if c == '\r' || c == '\n' {
				lastNL = j + 1
			}
			last = j
			j++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsSpace(r) {
			break
		}
		last = j
		j += w
	}
	if newlines && lastNL >= 0 {
		return lastNL
	}
	if j == len(s) || last == i {
		return j
	}
	return last
}

// nextGPT2 returns the end of the pre-token at s[i] under GPT-2's pattern.
func nextGPT2(s string, i int) int {
	r0, k0, w0 := runeAt(s, i)
	j := i + w0
	if r0 == '\'' {
		if n := contraction(s, i, false); n > 0 {
			return i + n
		}
	}
	if r0 == ' ' {
		if k1, w1 := classAt(s, j); w1 > 0 && k1 != classSpace {
			return skipClass(s, j+w1, k1)
		}
	}
	if k0 != classSpace {
		return skipClass(s, j, k0)
	}
	return whitespaceEnd(s, i, r0, j, false)
}

// next returns the end of the pre-token starting at s[i].
func (k splitKind) next(s string, i int) int {
	switch k {
	case splitQwen:
		return nextQwen(s, i)
	case splitGPT2:
		return nextGPT2(s, i)
	}
	return len(s)
}
