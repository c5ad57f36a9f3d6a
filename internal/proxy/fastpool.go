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
// knows every connection it made, so that a drain past its deadline can
// close them all.
type connPool struct {
	mu   sync.Mutex
	idle []*upstream
	all  map[net.Conn]struct{}
}

// get returns an idle connection younger than maxIdle, or nil.
func (p *connPool) get(now time.Time, maxIdle time.Duration) *upstream {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		u := p.idle[n-1]
		p.idle = p.idle[:n-1]
		if now.Sub(u.idleSince) < maxIdle {
			u.reused = true
			return u
		}
		p.forget(u)
	}
	return nil
}

// put keeps u for reuse, or closes it when max are idle already.
func (p *connPool) put(u *upstream, now time.Time, max int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= max {
		p.forget(u)
		return
	}
	u.idleSince = now
	p.idle = append(p.idle, u)
}

// forget closes u and drops it. Caller holds p.mu.
func (p *connPool) forget(u *upstream) {
	u.conn.Close()
	delete(p.all, u.conn)
}

// discard closes a connection that is not reusable.
func (p *connPool) discard(u *upstream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forget(u)
}

// track records a new connection.
func (p *connPool) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.all == nil {
		p.all = map[net.Conn]struct{}{}
	}
	p.all[c] = struct{}{}
}

// closeAll closes every connection to the backend, idle or in use: the
// requests on them end, and their clients reconnect elsewhere.
func (p *connPool) closeAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.all)
	for c := range p.all {
		c.Close()
	}
	p.all = nil
	p.idle = nil
	return n
}

// closeIdle closes the idle connections only.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.idle {
		p.forget(u)
	}
	p.idle = nil
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
