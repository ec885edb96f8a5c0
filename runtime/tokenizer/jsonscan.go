package tokenizer

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader for the two large values of a tokenizer (the
// vocabulary object and the merges array), several times faster than
// encoding/json on them. Everything else goes through encoding/json.

var errJSON = errors.New("malformed JSON")

type jsonReader struct {
	data []byte
	pos  int
}

func (r *jsonReader) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errJSON, what, r.pos)
}

func (r *jsonReader) space() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.space()
	if r.pos >= len(r.data) {
		return 0
	}
	return r.data[r.pos]
}

func (r *jsonReader) expect(c byte) error {
	if r.peek() != c {
		return r.fail(fmt.Sprintf("want %q", c))
	}
	r.pos++
	return nil
}

// str reads a string value.
func (r *jsonReader) str() (string, error) {
	if r.peek() != '"' {
		return "", r.fail("want a string")
	}
	r.pos++
	start := r.pos
	for r.pos < len(r.data) {
		switch c := r.data[r.pos]; {
		case c == '"':
			s := string(r.data[start:r.pos])
			r.pos++
			return s, nil
		case c == '\\':
			return r.strSlow(start)
		case c < 0x20:
			return "", r.fail("control character in string")
		default:
			r.pos++
		}
	}
	return "", r.fail("unterminated string")
}

// strSlow finishes a string that has escapes; r.pos is at the first one.
func (r *jsonReader) strSlow(start int) (string, error) {
	buf := append([]byte(nil), r.data[start:r.pos]...)
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		switch {
		case c == '"':
			r.pos++
			return string(buf), nil
		case c < 0x20:
			return "", r.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			r.pos++
			continue
		}
		if r.pos+1 >= len(r.data) {
			return "", r.fail("unterminated escape")
		}
		e := r.data[r.pos+1]
		r.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r1, ok := r.hex4()
			if !ok {
				return "", r.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r1) {
				// A pair is \uD8xx\uDCxx; a lone surrogate becomes U+FFFD,
				// as in encoding/json.
				save := r.pos
				if r.pos+1 < len(r.data) && r.data[r.pos] == '\\' && r.data[r.pos+1] == 'u' {
					r.pos += 2
					if r2, ok := r.hex4(); ok {
						if dec := utf16.DecodeRune(r1, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
					}
				}
				r.pos = save
				r1 = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r1)
		default:
			return "", r.fail("bad escape")
		}
	}
	return "", r.fail("unterminated string")
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.pos+4 > len(r.data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.data[r.pos:r.pos+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	r.pos += 4
	return rune(v), true
}

// integer reads a non-negative or negative integer that fits an int.
func (r *jsonReader) integer() (int, error) {
	r.space()
	start := r.pos
	if r.pos < len(r.data) && r.data[r.pos] == '-' {
		r.pos++
	}
	for r.pos < len(r.data) && r.data[r.pos] >= '0' && r.data[r.pos] <= '9' {
		r.pos++
	}
	v, err := strconv.Atoi(string(r.data[start:r.pos]))
	if err != nil {
		return 0, r.fail("want an integer")
	}
	return v, nil
}

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 512

// skip passes over one value of any kind and returns its bytes.
func (r *jsonReader) skip() ([]byte, error) {
	return r.skipDepth(0)
}

func (r *jsonReader) skipDepth(depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return nil, r.fail("nesting too deep")
	}
	inner := func() error {
		_, err := r.skipDepth(depth + 1)
		return err
	}
	r.space()
	start := r.pos
	if r.pos >= len(r.data) {
		return nil, r.fail("want a value")
	}
	var err error
	switch r.data[r.pos] {
	case '"':
		_, err = r.str()
	case '{':
		err = r.object(func(string) error { return inner() })
	case '[':
		err = r.array(inner)
	default:
	scalar:
		for r.pos < len(r.data) {
			switch r.data[r.pos] {
			case ',', ':', '{', '}', '[', ']', '"', ' ', '\t', '\n', '\r':
				break scalar
			}
			r.pos++
		}
		if r.pos == start {
			err = r.fail("want a value")
		}
	}
	if err != nil {
		return nil, err
	}
	return r.data[start:r.pos], nil
}

// object calls fn for each member of an object; fn must consume the value.
func (r *jsonReader) object(fn func(key string) error) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	if r.peek() == '}' {
		r.pos++
		return nil
	}
	for {
		key, err := r.str()
		if err != nil {
			return err
		}
		if err := r.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			return nil
		default:
			return r.fail("want ',' or '}'")
		}
	}
}

// array calls fn for each element of an array; fn must consume the value.
func (r *jsonReader) array(fn func() error) error {
	if err := r.expect('['); err != nil {
		return err
	}
	if r.peek() == ']' {
		r.pos++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			return nil
		default:
			return r.fail("want ',' or ']'")
		}
	}
}

// sizeHint guesses how many entries of about perEntry bytes the rest of
// the input holds, to size a map or slice without over-allocating for
// small files.
func (r *jsonReader) sizeHint(perEntry int) int {
	return min((len(r.data)-r.pos)/perEntry, 1<<18)
}

// vocabObject reads a {"token": id, ...} object.
func (r *jsonReader) vocabObject() (map[string]int, error) {
	m := make(map[string]int, r.sizeHint(20))
	err := r.object(func(key string) error {
		id, err := r.integer()
		if err != nil {
			return err
		}
		m[key] = id
		return nil
	})
	return m, err
}

// mergesArray reads merges as "a b" strings or ["a", "b"] pairs.
func (r *jsonReader) mergesArray() ([][2]string, error) {
	out := make([][2]string, 0, r.sizeHint(12))
	err := r.array(func() error {
		if r.peek() == '"' {
			s, err := r.str()
			if err != nil {
				return err
			}
			a, b, ok := cutSpace(s)
			if !ok {
				return fmt.Errorf("merge %d %q: want two tokens separated by a space", len(out), s)
			}
			out = append(out, [2]string{a, b})
			return nil
		}
		var pair [2]string
		n := 0
		err := r.array(func() error {
			s, err := r.str()
			if err != nil {
				return err
			}
			if n < 2 {
				pair[n] = s
			}
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("merge %d: want a pair, got %d tokens", len(out), n)
		}
		out = append(out, pair)
		return nil
	})
	return out, err
}

func cutSpace(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
