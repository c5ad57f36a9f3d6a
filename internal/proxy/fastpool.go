package proxy

import (
	"context"

	"github.com/nonstopdev/nonstop/internal/proxy/h1"
)

// dialUpstream opens a new connection to b, for the fast path.
func (p *Proxy) dialUpstream(ctx context.Context, b *backend) (*h1.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	raw, err := p.dialer.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	c := &h1.CountingConn{Conn: raw}
	b.pool.Track(c)
	return h1.NewConn(c, raw), nil
}
