package proxy

import (
	"context"
	"time"

	"github.com/nonstopdev/nonstop/internal/health"
)

// Health check defaults, for the fields of Route.Health left at zero when
// Path is set. A route with no Path has no active check; its backends are
// then never ejected (a failed connect is still retried elsewhere).
const (
	defaultHealthInterval     = time.Second
	defaultHealthTimeout      = 2 * time.Second
	defaultHealthyThreshold   = 2
	defaultUnhealthyThreshold = 2
)

func (h Health) withDefaults() Health {
	if h.Interval <= 0 {
		h.Interval = defaultHealthInterval
	}
	if h.Timeout <= 0 {
		h.Timeout = defaultHealthTimeout
	}
	if h.HealthyThreshold <= 0 {
		h.HealthyThreshold = defaultHealthyThreshold
	}
	if h.UnhealthyThreshold <= 0 {
		h.UnhealthyThreshold = defaultUnhealthyThreshold
	}
	return h
}

// checker is the health loop of one backend address. It is owned by the
// Proxy: started and stopped under Proxy.mu.
type checker struct {
	cfg    Health
	cancel context.CancelFunc
	done   chan struct{}
}

// stop ends the loop and waits for it.
func (c *checker) stop() {
	c.cancel()
	<-c.done
}

// syncCheckers runs exactly one loop per backend address that a route with
// a health check names (with the first such route's settings, by app
// name), restarting loops whose settings changed. Caller holds p.mu.
func (p *Proxy) syncCheckers() {
	want := map[string]Health{}
	for _, r := range sortedRoutes(p.routes) {
		if r.Health.Path == "" {
			continue
		}
		h := r.Health.withDefaults()
		for _, be := range r.Backends {
			if _, ok := want[be.Addr]; !ok {
				want[be.Addr] = h
			}
		}
	}
	for addr, c := range p.checkers {
		h, ok := want[addr]
		if ok && h == c.cfg {
			continue
		}
		c.stop()
		delete(p.checkers, addr)
		if b := p.reg[addr]; b != nil && !ok {
			// Nothing will re-admit it any more: let it take requests.
			b.checked.Store(false)
			b.healthy.Store(true)
		}
	}
	for addr, h := range want {
		if _, ok := p.checkers[addr]; ok {
			continue
		}
		p.checkers[addr] = p.startChecker(p.reg[addr], h)
	}
}

func (p *Proxy) startChecker(b *backend, h Health) *checker {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checker{cfg: h, cancel: cancel, done: make(chan struct{})}
	b.checked.Store(true)
	go p.runChecker(ctx, b, h, c.done)
	return c
}

// runChecker checks b now and then every h.Interval until ctx is done:
// UnhealthyThreshold failures in a row eject it, HealthyThreshold
// successes in a row (counted from its last ejection) re-admit it.
func (p *Proxy) runChecker(ctx context.Context, b *backend, h Health, done chan<- struct{}) {
	defer close(done)
	probe := health.Probe{Path: h.Path, Timeout: h.Timeout, Client: p.healthClient}
	ticker := time.NewTicker(h.Interval)
	defer ticker.Stop()
	var passed, failed int
	gen := b.ejections.Load()
	for {
		if g := b.ejections.Load(); g != gen {
			gen, passed = g, 0
		}
		err := probe.Check(ctx, b.addr)
		switch {
		case ctx.Err() != nil:
			return
		case b.ejections.Load() != gen:
			// Ejected while checking: this result predates it.
		case err == nil:
			failed = 0
			passed++
			if passed >= h.HealthyThreshold && !b.healthy.Load() {
				b.healthy.Store(true)
				p.log.Info("backend healthy", "addr", b.addr, "checks_passed", passed)
			}
		default:
			passed = 0
			failed++
			msg := err.Error()
			b.lastErr.Store(&msg)
			if failed >= h.UnhealthyThreshold && b.healthy.Swap(false) {
				p.log.Warn("backend unhealthy", "addr", b.addr, "checks_failed", failed, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
