package proxy

import (
	"fmt"
	"sync"
	"time"
)

// Hold makes the proxy hold an app's new requests, for instance while a
// database migration runs: they wait until the hold is lifted, then go on in
// the order they came. At most MaxQueue wait at once and none longer than
// MaxWait; past either, a request gets 503 with Retry-After.
type Hold struct {
	MaxWait  time.Duration `json:"max_wait"`
	MaxQueue int           `json:"max_queue"`
}

// DefaultHold is used for the zero fields of a Hold.
var DefaultHold = Hold{MaxWait: 30 * time.Second, MaxQueue: 10000}

// holdGate is where held requests of one app wait.
type holdGate struct {
	app  string
	hold Hold

	mu      sync.Mutex
	lifted  bool
	waiters []chan struct{}
}

func newHoldGate(app string, h Hold) *holdGate {
	if h.MaxWait <= 0 {
		h.MaxWait = DefaultHold.MaxWait
	}
	if h.MaxQueue <= 0 {
		h.MaxQueue = DefaultHold.MaxQueue
	}
	return &holdGate{app: app, hold: h}
}

// wait blocks until the gate is lifted, or fails when the queue is full or
// the request waited MaxWait.
func (g *holdGate) wait() error {
	g.mu.Lock()
	if g.lifted {
		g.mu.Unlock()
		return nil
	}
	if len(g.waiters) >= g.hold.MaxQueue {
		g.mu.Unlock()
		return fmt.Errorf("app %s is on hold and %d requests already wait", g.app, g.hold.MaxQueue)
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()

	t := time.NewTimer(g.hold.MaxWait)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, w := range g.waiters {
		if w == ch {
			g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
			return fmt.Errorf("app %s is on hold: waited %s", g.app, g.hold.MaxWait)
		}
	}
	return nil // lifted just as the wait ended
}

// lift lets every waiting request go, first come first.
func (g *holdGate) lift() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lifted = true
	for _, ch := range g.waiters {
		close(ch)
	}
	g.waiters = nil
}

// waiting returns how many requests wait.
func (g *holdGate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiters)
}

// waitHold holds a request of e's app while its route says so.
func (p *Proxy) waitHold(e *routeEntry) error {
	if e.hold == nil {
		return nil
	}
	return e.hold.wait()
}

// syncHolds gives each held route its gate, keeping the gate of a route
// that stays held, and lifts the gates of routes no longer held. Caller
// holds p.mu.
func (p *Proxy) syncHolds(t *table) {
	for app, e := range t.byApp {
		if e.route.Hold == nil {
			continue
		}
		g, ok := p.holds[app]
		if !ok {
			g = newHoldGate(app, *e.route.Hold)
			p.holds[app] = g
		}
		e.hold = g
		for _, pe := range e.previews {
			pe.hold = g
		}
	}
	for app, g := range p.holds {
		if e := t.byApp[app]; e == nil || e.route.Hold == nil {
			g.lift()
			delete(p.holds, app)
		}
	}
}
