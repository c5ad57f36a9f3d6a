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
}

// connPool keeps a backend's idle connections (most recent first) and
// knows every connection made to the backend, by either path, so that a
// drain past its deadline can close them all.
type connPool struct {
	mu   sync.Mutex
	idle []*upstream
	all  map[*countingConn]struct{}
}

// get returns an idle connection younger than maxIdle, or nil.
func (p *connPool) get(now time.Time, maxIdle time.Duration) *upstream {
	p.mu.Lock()
	var stale []*upstream
	var found *upstream
	for n := len(p.idle); n > 0 && found == nil; n = len(p.idle) {
		u := p.idle[n-1]
		p.idle = p.idle[:n-1]
		if now.Sub(u.idleSince) < maxIdle {
			found = u
		} else {
			stale = append(stale, u)
		}
	}
	p.mu.Unlock()
	for _, u := range stale {
		u.conn.Close()
	}
	if found != nil {
		found.reused = true
	}
	return found
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
	return &upstream{conn: c, br: bufio.NewReaderSize(c, 8<<10), bw: bufio.NewWriterSize(c, 8<<10), b: b}, nil
}
