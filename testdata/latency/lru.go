// Package lru is a small least-recently-used cache, the ~500-token Go file
// that the LSP latency benchmark completes in (docs/BENCHMARKS.md).
package lru

import (
	"container/list"
	"errors"
	"sync"
)

// ErrCapacity is returned by New for a capacity below one.
var ErrCapacity = errors.New("lru: capacity must be at least 1")

// Cache maps keys to values and forgets the least recently used entry
// when it is full. It is safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	cap   int
	order *list.List
	items map[string]*list.Element
}

type entry struct {
	key   string
	value []byte
}

// New returns an empty cache that holds at most capacity entries.
func New(capacity int) (*Cache, error) {
	if capacity < 1 {
		return nil, ErrCapacity
	}
	return &Cache{cap: capacity, order: list.New(), items: make(map[string]*list.Element)}, nil
}

// Get returns the value stored under key and marks it as recently used.
func (c *Cache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).value, true
}

// Put stores value under key, evicting the oldest entry when full.
func (c *Cache) Put(key string, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*entry).value = value
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.cap {
		oldest := c.order.Back()

		delete(c.items, oldest.Value.(*entry).key)
	}
	c.items[key] = c.order.PushFront(&entry{key: key, value: value})
}
