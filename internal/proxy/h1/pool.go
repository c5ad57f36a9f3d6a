package h1

import (
	"sync"
	"time"
)

// Pool keeps a backend's idle connections (most recent first) and knows
// every connection made to it, by any path, so that a drain past its
// deadline can close them all. The zero Pool is ready to use.
type Pool struct {
	// OnIdleClose, if set, learns that the backend closed a connection
	// after it had been idle for the given time.
	OnIdleClose func(idle time.Duration)
	// OnDirty, if set, learns that the backend wrote on an idle connection
	// bytes that no request asked for.
	OnDirty func()

	mu   sync.Mutex
	idle []*Conn
	all  map[*CountingConn]struct{}
}

// Get returns an idle connection that is younger than maxIdle and still
// clean (open, nothing unread on it), or nil. It looks at each before
// handing it out (one non-blocking peek): a connection the backend closed
// meanwhile is never used, and one on which it wrote an answer nobody
// asked for never hands that answer to the next client.
func (p *Pool) Get(now time.Time, maxIdle time.Duration) *Conn {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		u := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		idle := now.Sub(u.idleSince)
		if idle >= maxIdle {
			u.Close()
			continue
		}
		switch u.probe.State() {
		case IdleOpen:
			u.Reused = true
			return u
		case IdleClosed:
			if p.OnIdleClose != nil {
				p.OnIdleClose(idle)
			}
		case IdleDirty:
			if p.OnDirty != nil {
				p.OnDirty()
			}
		}
		u.Close()
	}
}

// Put keeps u for reuse, or closes it when max are idle already. Only a
// connection whose last exchange left it reusable may be put back.
func (p *Pool) Put(u *Conn, now time.Time, max int) {
	p.mu.Lock()
	if len(p.idle) >= max {
		p.mu.Unlock()
		u.Close()
		return
	}
	u.idleSince = now
	p.idle = append(p.idle, u)
	p.mu.Unlock()
}

// Track records a new connection to the backend; it forgets itself when
// closed.
func (p *Pool) Track(c *CountingConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.all == nil {
		p.all = map[*CountingConn]struct{}{}
	}
	p.all[c] = struct{}{}
	c.pool = p
}

func (p *Pool) untrack(c *CountingConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.all, c)
}

// CloseAll closes every connection to the backend, idle or in use: the
// requests on them end, and their clients reconnect elsewhere. It returns
// how many it closed.
func (p *Pool) CloseAll() int {
	p.mu.Lock()
	conns := make([]*CountingConn, 0, len(p.all))
	for c := range p.all {
		conns = append(conns, c)
	}
	p.idle = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

// CloseIdle closes the idle connections only.
func (p *Pool) CloseIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, u := range idle {
		u.Close()
	}
}
