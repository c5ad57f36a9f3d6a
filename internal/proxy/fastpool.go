package proxy

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

// upstream is one kept-alive connection to a backend, with its buffers.
type upstream struct {
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	b         *backend
	idleSince time.Time
	reused    bool // it served a request before this one
	probe     idleProbe
}

// connPool keeps a backend's idle connections (most recent first) and
// knows every connection made to the backend, by either path, so that a
// drain past its deadline can close them all.
type connPool struct {
	mu   sync.Mutex
	idle []*upstream
	all  map[*countingConn]struct{}
}

// get returns an idle connection that is younger than maxIdle and still
// clean (open, nothing unread on it), or nil. A connection the backend
// closed while idle teaches its backend how long it keeps connections
// (see backend.noteIdleClose); one with bytes nobody asked for is closed.
func (p *connPool) get(now time.Time, maxIdle time.Duration) *upstream {
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
			u.conn.Close()
			continue
		}
		switch u.probe.state() {
		case idleOpen:
			u.reused = true
			return u
		case idleClosed:
			u.b.noteIdleClose(idle)
		case idleDirty:
			u.b.sloppy.Store(true)
		}
		u.conn.Close()
	}
}

// put keeps u for reuse, or closes it when max are idle already.
func (p *connPool) put(u *upstream, now time.Time, max int) {
	p.mu.Lock()
	if len(p.idle) >= max {
		p.mu.Unlock()
		u.conn.Close()
		return
	}
	u.idleSince = now
	p.idle = append(p.idle, u)
	p.mu.Unlock()
}

// discard closes a connection that is not reusable.
func (p *connPool) discard(u *upstream) { u.conn.Close() }

// track records a new connection; it forgets itself when closed.
func (p *connPool) track(c *countingConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.all == nil {
		p.all = map[*countingConn]struct{}{}
	}
	p.all[c] = struct{}{}
	c.pool = p
}

func (p *connPool) untrack(c *countingConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.all, c)
}

// closeAll closes every connection to the backend, idle or in use: the
// requests on them end, and their clients reconnect elsewhere. It returns
// how many it closed.
func (p *connPool) closeAll() int {
	p.mu.Lock()
	conns := make([]*countingConn, 0, len(p.all))
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

// closeIdle closes the idle connections only.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, u := range idle {
		u.conn.Close()
	}
}

// dialUpstream opens a new connection to b.
func (p *Proxy) dialUpstream(ctx context.Context, b *backend) (*upstream, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	raw, err := p.dialer.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	c := &countingConn{Conn: raw}
	b.pool.track(c)
	u := &upstream{conn: c, br: bufio.NewReaderSize(c, 8<<10), bw: bufio.NewWriterSize(c, 8<<10), b: b}
	u.probe.init(raw)
	return u, nil
}
