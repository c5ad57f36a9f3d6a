// Package keylock serialises work on one key (an instance ID) while work
// on different keys runs concurrently; waiting for a key respects a context.
package keylock

import (
	"context"
	"sync"
)

// Map is a set of per-key locks. The zero value is ready; keys nobody holds
// or waits for take no memory.
type Map struct {
	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	ch   chan struct{} // holds one token while locked
	refs int           // holders and waiters; the entry goes when it drops to 0
}

// Lock waits until key is free (or ctx ends) and returns its unlock.
func (k *Map) Lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*entry)
	}
	e := k.m[key]
	if e == nil {
		e = &entry{ch: make(chan struct{}, 1)}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()

	select {
	case e.ch <- struct{}{}:
		return func() {
			<-e.ch
			k.release(key, e)
		}, nil
	case <-ctx.Done():
		k.release(key, e)
		return nil, ctx.Err()
	}
}

func (k *Map) release(key string, e *entry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(k.m, key)
	}
}
