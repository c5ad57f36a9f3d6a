package proxy

import (
	"context"
	"time"
)

// drainPoll is how often Drain looks at the in-flight counts: a few atomic
// loads, cheap enough to do often.
const drainPoll = 10 * time.Millisecond

// Drain waits until no request is in flight to the backends at addrs, or
// until timeout, and returns how many were still in flight then. At the
// timeout it closes every connection still open to those backends: long
// streams (SSE, WebSockets, long polls) end there, and their clients
// reconnect, to the backends now in the route. Drain does not stop new
// requests: remove the backends from their routes first. Unknown addresses
// count as drained. It returns ctx's error if ctx ends first.
func (p *Proxy) Drain(ctx context.Context, addrs []string, timeout time.Duration) (int64, error) {
	backends := p.lookupBackends(addrs)
	remaining := func() int64 {
		var n int64
		for _, b := range backends {
			n += b.inflight.Load()
		}
		return n
	}
	if n := remaining(); n == 0 {
		return 0, nil
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return remaining(), ctx.Err()
		case <-deadline.C:
			n := remaining()
			if n > 0 {
				for _, b := range backends {
					if closed := b.pool.CloseAll(); closed > 0 {
						p.log.Info("drain deadline: closed connections still open", "addr", b.addr, "connections", closed)
					}
				}
			}
			return n, nil
		case <-tick.C:
			if n := remaining(); n == 0 {
				return 0, nil
			}
		}
	}
}

func (p *Proxy) lookupBackends(addrs []string) []*backend {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*backend
	for _, a := range addrs {
		if b := p.reg[a]; b != nil {
			out = append(out, b)
		}
	}
	return out
}

// backendAt returns the backend at addr in the current routes, or nil.
func (p *Proxy) backendAt(addr string) *backend {
	for _, e := range p.table.Load().byApp {
		for _, b := range e.backends {
			if b.addr == addr {
				return b
			}
		}
	}
	return nil
}
