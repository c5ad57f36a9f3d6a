package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a clock that moves only when Advance is called. Its waiters fire
// in time order as it passes them.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
	changed chan struct{} // closed and replaced when a waiter is added
}

type waiter struct {
	at     time.Time
	every  time.Duration // > 0: a ticker, re-armed after each tick
	ch     chan time.Time
	closed bool
}

// NewFake returns a fake clock that reads start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *Fake) After(d time.Duration) <-chan time.Time {
	return f.add(d, 0).ch
}

func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	return &fakeTicker{f: f, w: f.add(d, d)}
}

func (f *Fake) add(d, every time.Duration) *waiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &waiter{at: f.now.Add(d), every: every, ch: make(chan time.Time, 1)}
	f.waiters = append(f.waiters, w)
	close(f.changed)
	f.changed = make(chan struct{})
	return w
}

// Advance moves the clock forward by d, firing every waiter it passes (a
// ticker whose receiver is behind drops ticks, as time.Ticker does).
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.closed {
			continue
		}
		for !w.at.After(f.now) {
			select {
			case w.ch <- w.at:
			default:
			}
			if w.every == 0 {
				w.closed = true
				break
			}
			w.at = w.at.Add(w.every)
		}
		if !w.closed {
			kept = append(kept, w)
		}
	}
	f.waiters = kept
}

// Waiters is how many timers and tickers wait on the clock.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// WaitFor blocks until at least n timers and tickers wait on the clock (a
// goroutine under test reached its wait), or ctx ends.
func (f *Fake) WaitFor(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		have, changed := len(f.waiters), f.changed
		f.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(10 * time.Millisecond): // a waiter may also have gone
		}
	}
}

type fakeTicker struct {
	f *Fake
	w *waiter
}

func (t *fakeTicker) C() <-chan time.Time { return t.w.ch }

func (t *fakeTicker) Stop() {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.w.closed = true
	for i, w := range t.f.waiters {
		if w == t.w {
			t.f.waiters = append(t.f.waiters[:i], t.f.waiters[i+1:]...)
			break
		}
	}
}
