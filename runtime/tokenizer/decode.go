package tokenizer

import "unicode/utf8"

// appendLossy appends b to dst as valid UTF-8, replacing each maximal
// subpart of an ill-formed sequence with U+FFFD. This is the Unicode
// "substitution of maximal subparts" practice that Python's
// bytes.decode(errors="replace") and Rust's String::from_utf8_lossy follow,
// so a truncated 3-byte character becomes one U+FFFD, not two.
func appendLossy(dst []byte, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, w := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || w > 1 {
			dst = append(dst, b[i:i+w]...)
			i += w
			continue
		}
		dst = append(dst, "\uFFFD"...)
		i += maximalSubpart(b[i:])
	}
	return dst
}

// maximalSubpart returns the length (1 to 3) of the longest prefix of b
// that starts a well-formed UTF-8 sequence but does not complete one. b
// holds an ill-formed sequence at its start.
func maximalSubpart(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF) // allowed range of the second byte
	var need int                     // continuation bytes a full sequence needs
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
