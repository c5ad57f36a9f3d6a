package store

import "sync"

// Change says that a rollout, its history or a pipeline run was written.
// Readers are woken by it and read the store again: a Change names what
// moved, never what it became, so a missed or merged wake-up loses nothing.
type Change struct {
	App     int64 // 0 when the writer did not know it
	Rollout int64 // the rollout whose row or events were written, or 0
	Run     int64 // the run written, or 0
}

// changes fans the store's writes out to its watchers.
type changes struct {
	mu       sync.Mutex
	watchers map[*watcher]struct{}
}

type watcher struct {
	match func(Change) bool
	wake  chan struct{} // holds one pending wake-up at most
}

// Watch wakes the returned channel after each write that match accepts
// (nil: every write); wake-ups that come while one is pending merge into
// it. Call Watch before reading what it guards, so that no write falls
// between the read and the watch; stop ends the watch.
func (s *Store) Watch(match func(Change) bool) (wake <-chan struct{}, stop func()) {
	w := &watcher{match: match, wake: make(chan struct{}, 1)}
	c := &s.changes
	c.mu.Lock()
	if c.watchers == nil {
		c.watchers = map[*watcher]struct{}{}
	}
	c.watchers[w] = struct{}{}
	c.mu.Unlock()
	return w.wake, func() {
		c.mu.Lock()
		delete(c.watchers, w)
		c.mu.Unlock()
	}
}

// publish wakes the watchers of ch; it never blocks a writer.
func (s *Store) publish(ch Change) {
	c := &s.changes
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.watchers {
		if w.match != nil && !w.match(ch) {
			continue
		}
		select {
		case w.wake <- struct{}{}:
		default: // one is pending already
		}
	}
}
