package tokenizer

import (
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// isASCII reports whether s has only ASCII bytes (ASCII text is always NFC).
func isASCII[T ~string | ~[]byte](s T) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if (uint64(s[i])|uint64(s[i+1])|uint64(s[i+2])|uint64(s[i+3])|
			uint64(s[i+4])|uint64(s[i+5])|uint64(s[i+6])|uint64(s[i+7]))&0x80 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// nfc returns s in Unicode Normalization Form C, without copying when s is
// already normal.
func nfc(s string) string {
	if isASCII(s) || norm.NFC.IsNormalString(s) {
		return s
	}
	return norm.NFC.String(s)
}

// alignment maps byte offsets in normalized text back to the source text.
// It is a list of segments in increasing order; within a segment whose
// normalized bytes equal the source bytes the mapping is exact, otherwise
// any offset inside the segment maps to the segment's bounds.
type alignment struct {
	segs []alignSeg
}

type alignSeg struct {
	out, src, srcEnd int // normalized start, source start, source end
	same             bool
}

// nfcAligned normalizes s to NFC and, when that changes s, returns the
// alignment from the normalized text back to s (nil when unchanged).
func nfcAligned(s string) (string, *alignment) {
	if isASCII(s) || norm.NFC.IsNormalString(s) {
		return s, nil
	}
	var it norm.Iter
	it.InitString(norm.NFC, s)
	out := make([]byte, 0, len(s)+len(s)/8)
	a := &alignment{}
	for !it.Done() {
		src := it.Pos()
		seg := it.Next()
		srcEnd := it.Pos()
		same := string(seg) == s[src:srcEnd]
		if n := len(a.segs); same && n > 0 && a.segs[n-1].same && a.segs[n-1].srcEnd == src {
			// Extend the previous unchanged segment.
			a.segs[n-1].srcEnd = srcEnd
		} else {
			a.segs = append(a.segs, alignSeg{out: len(out), src: src, srcEnd: srcEnd, same: same})
		}
		out = append(out, seg...)
	}
	return string(out), a
}

// find returns the index of the segment holding normalized offset off.
func (a *alignment) find(off int) int {
	lo, hi := 0, len(a.segs)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if a.segs[mid].out <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// span maps the normalized byte range [start, end) to a source range.
func (a *alignment) span(start, end int) (int, int) {
	if a == nil {
		return start, end
	}
	if len(a.segs) == 0 {
		return 0, 0
	}
	s := a.segs[a.find(start)]
	srcStart := s.src
	if s.same {
		srcStart = s.src + (start - s.out)
	}
	if end <= start {
		return srcStart, srcStart
	}
	e := a.segs[a.find(end-1)]
	srcEnd := e.srcEnd
	if e.same {
		srcEnd = e.src + (end - e.out)
	}
	return srcStart, srcEnd
}
