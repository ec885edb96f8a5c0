package lsp

import (
	"sync"
	"time"
)

// Backoff of automatic requests: a user who keeps passing suggestions over
// is better served by fewer of them (anchor products slow down too).
const (
	// backoffAfter ignored suggestions in a row double the debounce; each
	// further one doubles it again.
	backoffAfter = 5
	// backoffMaxFactor caps the debounce at this multiple of debounceMs.
	backoffMaxFactor = 8
)

// backoff counts the automatic suggestions the user passed over. A
// suggestion counts as passed over when the next automatic request misses
// the cache (the user typed something other than its next characters) and
// nothing was accepted in between (dream.accept or a partial accept). When
// the client reports shown items (didShowCompletion), only a suggestion that
// was shown counts. Any acceptance resets the count. Safe for concurrent
// use.
type backoff struct {
	mu       sync.Mutex
	ignored  int   // suggestions passed over in a row
	pending  bool  // the last automatic answer offered a suggestion not yet judged
	accepted int64 // full and partial acceptances seen at the last judgement
	shown    int64 // shown items seen at the last judgement
}

// miss judges the pending suggestion when an automatic request misses the
// cache, given the acceptance counters now, and returns the debounce
// multiplier for that request.
func (b *backoff) miss(acc Acceptance) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	accepted := acc.Accepted + acc.PartiallyAccepted
	switch {
	case accepted != b.accepted:
		b.ignored = 0
	case b.pending && (acc.Shown == 0 || acc.Shown != b.shown):
		b.ignored++
	}
	b.accepted, b.shown, b.pending = accepted, acc.Shown, false
	if b.ignored < backoffAfter {
		return 1
	}
	return min(1<<min(b.ignored-backoffAfter+1, 30), backoffMaxFactor)
}

// answered records that an automatic request was answered, with at least one
// suggestion when offered is true.
func (b *backoff) answered(offered bool) {
	if !offered {
		return
	}
	b.mu.Lock()
	b.pending = true
	b.mu.Unlock()
}

// automaticDebounce returns how long an automatic request that missed the
// cache waits: debounceMs, multiplied while the user passes suggestions over.
func (s *Server) automaticDebounce(base time.Duration) time.Duration {
	f := s.back.miss(s.accept.counts())
	if f > 1 {
		s.log.Debug("backing off after ignored suggestions", "factor", f, "debounce_ms", (base * time.Duration(f)).Milliseconds())
	}
	return base * time.Duration(f)
}
