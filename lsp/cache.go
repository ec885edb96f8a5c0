package lsp

import (
	"hash/maphash"
	"strings"
	"sync"

	"github.com/dream-lsp/dream-lsp/infill"
)

// maxTypedAhead is how many bytes a user may type into a cached suggestion
// and still get the rest of it from the cache.
const maxTypedAhead = 256

// cacheKey is what, besides the text, decides a completion: the language,
// the settings that change the model's output and the engine generation.
type cacheKey struct {
	lang             string
	steps, maxTokens int
	alg              string
	gen              int
	minConf          float64 // results are filtered by the suggestion policy's threshold
}

// resultCache is a small LRU of completion results keyed by the text before
// and after the cursor. A lookup also hits when the user has typed the
// beginning of a cached suggestion since (typed-ahead reuse): the rest of the
// suggestion is returned. Only hashes of the text are kept. Safe for
// concurrent use.
type resultCache struct {
	mu      sync.Mutex
	cap     int
	seed    maphash.Seed
	entries []*cacheEntry // least recently used first
}

type cacheEntry struct {
	key        cacheKey
	n          int // candidates the request asked for
	prefixLen  int
	prefixHash uint64
	suffixHash uint64
	cands      []cachedCandidate
}

// cachedCandidate is a candidate relative to the cursor it was made for.
type cachedCandidate struct {
	text          string
	before, after int // Start = cursor - before, End = cursor + after
	score         float64
	parses        bool
	tokens        int
}

func newResultCache(capacity int) *resultCache {
	return &resultCache{cap: capacity, seed: maphash.MakeSeed()}
}

func (c *resultCache) hash(s string) uint64 { return maphash.String(c.seed, s) }

// lookup returns cached candidates for a request for at least n candidates
// at offset in text, adjusted to offset, or nil.
func (c *resultCache) lookup(key cacheKey, text string, offset, n int) []infill.Candidate {
	suffixHash := c.hash(text[offset:])
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.entries) - 1; i >= 0; i-- {
		e := c.entries[i]
		if e.key != key || e.suffixHash != suffixHash || e.n < n || e.prefixLen > offset || offset-e.prefixLen > maxTypedAhead {
			continue
		}
		if c.hash(text[:e.prefixLen]) != e.prefixHash {
			continue
		}
		typed := text[e.prefixLen:offset]
		var out []infill.Candidate
		for _, cc := range e.cands {
			cand := infill.Candidate{Text: cc.text, Start: offset - cc.before, End: offset + cc.after, Score: cc.score, Parses: cc.parses, Tokens: cc.tokens}
			if typed != "" {
				if cc.before != 0 || len(cc.text) <= len(typed) || !strings.HasPrefix(cc.text, typed) {
					continue
				}
				cand.Text, cand.Start = cc.text[len(typed):], offset
			}
			out = append(out, cand)
		}
		if len(out) == 0 {
			continue
		}
		c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
		return out
	}
	return nil
}

// store records the candidates of a request for n candidates at offset.
func (c *resultCache) store(key cacheKey, text string, offset, n int, cands []infill.Candidate) {
	e := &cacheEntry{key: key, n: n, prefixLen: offset, prefixHash: c.hash(text[:offset]), suffixHash: c.hash(text[offset:])}
	for _, cand := range cands {
		if cand.Start < 0 || cand.Start > offset || cand.End < offset || cand.End > len(text) {
			continue // not relative to the cursor; not reusable
		}
		e.cands = append(e.cands, cachedCandidate{text: cand.Text, before: offset - cand.Start, after: cand.End - offset,
			score: cand.Score, parses: cand.Parses, tokens: cand.Tokens})
	}
	if len(e.cands) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.cap {
		c.entries = append(c.entries[:0], c.entries[1:]...)
	}
	c.entries = append(c.entries, e)
}

// clear drops every entry.
func (c *resultCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
