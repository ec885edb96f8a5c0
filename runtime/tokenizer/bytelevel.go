package tokenizer

// GPT-2's byte-level alphabet: every byte gets a printable code point so
// that vocabulary entries are text. Bytes 33–126, 161–172 and 174–255 map to
// themselves; the other 68 bytes map, in increasing order, to U+0100,
// U+0101, …. So a space is "Ġ" (U+0120) and a newline is "Ċ" (U+010A).

// byteRune maps a byte to its byte-level code point.
var byteRune [256]rune

// byteLevelMaxRune bounds the code points in the byte-level alphabet.
const byteLevelMaxRune = 0x100 + 68

// runeByte maps a byte-level code point back to its byte; runeByteOK says
// whether the code point belongs to the alphabet.
var (
	runeByte   [byteLevelMaxRune]byte
	runeByteOK [byteLevelMaxRune]bool
)

// byteLevelString holds, for each byte, the UTF-8 text of its code point.
var byteLevelString [256]string

func init() {
	next := rune(0x100)
	for b := 0; b < 256; b++ {
		if (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255) {
			byteRune[b] = rune(b)
		} else {
			byteRune[b] = next
			next++
		}
		runeByte[byteRune[b]] = byte(b)
		runeByteOK[byteRune[b]] = true
		byteLevelString[b] = string(byteRune[b])
	}
}

// byteLevelEncode returns the byte-level text of raw bytes (the form used
// as keys in vocab.json and merges.txt).
func byteLevelEncode(raw string) string {
	buf := make([]rune, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		buf = append(buf, byteRune[raw[i]])
	}
	return string(buf)
}

// byteLevelDecode maps byte-level text back to raw bytes. A code point
// outside the alphabet contributes its own UTF-8 bytes, as the Hugging Face
// ByteLevel decoder does.
func byteLevelDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 0 && r < byteLevelMaxRune && runeByteOK[r] {
			out = append(out, runeByte[r])
			continue
		}
		out = append(out, string(r)...)
	}
	return out
}
