package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// noRank marks an adjacent pair that has no merge.
const noRank = ^uint32(0)

// mergeTable maps an adjacent pair of token ids to the merge's rank (its
// line index in merges.txt) and the id of the merged token. It is an
// open-addressing hash table with linear probing, read-only after loading.
type mergeTable struct {
	slots []mergeSlot
	mask  uint64
}

// mergeSlot keeps key and value in one cache line.
type mergeSlot struct {
	key uint64 // left<<32 | right, or emptyKey
	val uint64 // rank<<32 | merged id
}

const emptyKey = ^uint64(0)

func newMergeTable(n int) mergeTable {
	size := 1
	for size < 2*n+16 {
		size <<= 1
	}
	t := mergeTable{slots: make([]mergeSlot, size), mask: uint64(size - 1)}
	for i := range t.slots {
		t.slots[i].key = emptyKey
	}
	return t
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

func hashPair(k uint64) uint64 {
	k *= 0x9E3779B97F4A7C15
	return k ^ (k >> 29)
}

// put sets the pair's merge; a later merge of the same pair replaces an
// earlier one, as in Hugging Face's loaders.
func (t *mergeTable) put(left, right int32, rank uint32, merged int32) {
	k := pairKey(left, right)
	for i := hashPair(k) & t.mask; ; i = (i + 1) & t.mask {
		if sl := &t.slots[i]; sl.key == emptyKey || sl.key == k {
			sl.key = k
			sl.val = uint64(rank)<<32 | uint64(uint32(merged))
			return
		}
	}
}

// get returns the pair's rank and merged id, or noRank.
func (t *mergeTable) get(left, right int32) (uint32, int32) {
	k := pairKey(left, right)
	for i := hashPair(k) & t.mask; ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		switch sl.key {
		case k:
			return uint32(sl.val >> 32), int32(uint32(sl.val))
		case emptyKey:
			return noRank, -1
		}
	}
}

// smallWord is the most symbols merged with the simple quadratic loop;
// longer words use a heap.
const smallWord = 64

// bpe appends the ids of one pre-token (raw bytes) to dst: start from one
// symbol per byte and repeatedly merge the adjacent pair of lowest rank
// (the leftmost one on ties) until no pair has a merge. Bytes without a
// symbol in the vocabulary are dropped, as Hugging Face's BPE does when it
// has no unknown token.
func (t *Tokenizer) bpe(word string, dst []int32) []int32 {
	if t.ignoreMerges {
		if id, ok := t.vocab[byteLevelEncode(word)]; ok {
			return append(dst, int32(id))
		}
	}
	if len(word) > smallWord {
		return t.bpeLong(word, dst)
	}
	var (
		syms  [smallWord]int32
		ranks [smallWord]uint32
		next  [smallWord]int32
	)
	n := 0
	for i := 0; i < len(word); i++ {
		if id := t.byteID[word[i]]; id >= 0 {
			syms[n] = id
			n++
		}
	}
	for i := 0; i+1 < n; i++ {
		ranks[i], next[i] = t.merges.get(syms[i], syms[i+1])
	}
	for n > 1 {
		best, bi := noRank, -1
		for i := 0; i+1 < n; i++ {
			if ranks[i] < best {
				best, bi = ranks[i], i
			}
		}
		if bi < 0 {
			break
		}
		syms[bi] = next[bi]
		copy(syms[bi+1:n-1], syms[bi+2:n])
		if bi+2 < n {
			copy(ranks[bi+1:n-2], ranks[bi+2:n-1])
			copy(next[bi+1:n-2], next[bi+2:n-1])
		}
		n--
		if bi > 0 {
			ranks[bi-1], next[bi-1] = t.merges.get(syms[bi-1], syms[bi])
		}
		if bi+1 < n {
			ranks[bi], next[bi] = t.merges.get(syms[bi], syms[bi+1])
		}
	}
	return append(dst, syms[:n]...)
}

// mergeCand is a candidate merge of the symbol at pos with its right
// neighbour, ordered by (rank, pos).
type mergeCand struct {
	rank   uint32
	pos    int32
	merged int32
}

func (a mergeCand) less(b mergeCand) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// bpeLong is bpe for long pre-tokens: a linked list of symbols and a
// binary heap of candidate merges, O(n log n) like Hugging Face's
// Word::merge_all. Stale heap entries are skipped when popped.
func (t *Tokenizer) bpeLong(word string, dst []int32) []int32 {
	syms := make([]int32, 0, len(word))
	for i := 0; i < len(word); i++ {
		if id := t.byteID[word[i]]; id >= 0 {
			syms = append(syms, id)
		}
	}
	n := len(syms)
	prev := make([]int32, n)
	next := make([]int32, n)
	alive := make([]bool, n)
	for i := range n {
		prev[i], next[i], alive[i] = int32(i-1), int32(i+1), true
	}
	if n > 0 {
		next[n-1] = -1
	}
	h := make([]mergeCand, 0, n)
	push := func(c mergeCand) {
		h = append(h, c)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !h[i].less(h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	}
	pop := func() mergeCand {
		top := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && h[l].less(h[m]) {
				m = l
			}
			if r < len(h) && h[r].less(h[m]) {
				m = r
			}
			if m == i {
				break
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
		return top
	}
	for i := 0; i+1 < n; i++ {
		if rank, merged := t.merges.get(syms[i], syms[i+1]); rank != noRank {
			push(mergeCand{rank, int32(i), merged})
		}
	}
	for len(h) > 0 {
		c := pop()
		p := c.pos
		q := next[p]
		if !alive[p] || q < 0 {
			continue
		}
		if rank, merged := t.merges.get(syms[p], syms[q]); rank != c.rank || merged != c.merged {
			continue
		}
		syms[p] = c.merged
		alive[q] = false
		next[p] = next[q]
		if nq := next[q]; nq >= 0 {
			prev[nq] = p
		}
		if pp := prev[p]; pp >= 0 {
			if rank, merged := t.merges.get(syms[pp], syms[p]); rank != noRank {
				push(mergeCand{rank, pp, merged})
			}
		}
		if nq := next[p]; nq >= 0 {
			if rank, merged := t.merges.get(syms[p], syms[nq]); rank != noRank {
				push(mergeCand{rank, p, merged})
			}
		}
	}
	for i := int32(0); n > 0 && i >= 0; i = next[i] {
		dst = append(dst, syms[i])
	}
	return dst
}

// wordCache remembers the ids of recently seen pre-tokens. It is a
// direct-mapped table of immutable entries behind atomic pointers: safe for
// concurrent use without locks, bounded by construction (a new word evicts
// whatever shared its slot), and cheap to probe.
type wordCache struct {
	seed  maphash.Seed
	slots [cacheSlots]atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	word string
	ids  []int32
}

const (
	cacheSlots   = 1 << 16
	cacheMaxWord = 64 // longer pre-tokens are not cached
)

func (c *wordCache) slot(word string) *atomic.Pointer[cacheEntry] {
	return &c.slots[maphash.String(c.seed, word)&(cacheSlots-1)]
}

func (c *wordCache) get(word string) ([]int32, bool) {
	if e := c.slot(word).Load(); e != nil && e.word == word {
		return e.ids, true
	}
	return nil, false
}

func (c *wordCache) put(word string, ids []int32) {
	if len(word) > cacheMaxWord {
		return
	}
	c.slot(word).Store(&cacheEntry{word: strings.Clone(word), ids: ids})
}
