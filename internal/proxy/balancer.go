package proxy

import "sync/atomic"

// pick chooses the backend for one attempt: the healthy backend with the
// fewest requests in flight, ties broken round-robin. It avoids the
// backends in tried while another healthy one exists, and returns nil when
// none is healthy.
func (e *routeEntry) pick(tried []*backend) *backend {
	best, fallback := pickFrom(e.backends, &e.next, tried)
	if best != nil {
		return best
	}
	return fallback
}

// pickFrom returns the healthy backend of bs with the fewest requests in
// flight that is not in tried (best), and the least loaded healthy one
// that is (fallback); next is the round-robin start for ties.
func pickFrom(bs []*backend, next *atomic.Uint64, tried []*backend) (best, fallback *backend) {
	n := len(bs)
	if n == 0 {
		return nil, nil
	}
	start := int(next.Add(1) % uint64(n))
	var bestLoad, fallbackLoad int64
	for i := range n {
		b := bs[(start+i)%n]
		if !b.healthy.Load() {
			continue
		}
		load := b.inflight.Load()
		if contains(tried, b) {
			if fallback == nil || load < fallbackLoad {
				fallback, fallbackLoad = b, load
			}
			continue
		}
		if best == nil || load < bestLoad {
			best, bestLoad = b, load
		}
	}
	return best, fallback
}

// anyHealthy reports whether some backend may take a request.
func (e *routeEntry) anyHealthy() bool { return anyHealthy(e.backends) }

func anyHealthy(bs []*backend) bool {
	for _, b := range bs {
		if b.healthy.Load() {
			return true
		}
	}
	return false
}

func contains(bs []*backend, b *backend) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// anotherHealthy reports whether a backend other than b may take requests.
func (e *routeEntry) anotherHealthy(b *backend) bool {
	for _, o := range e.backends {
		if o != b && o.healthy.Load() {
			return true
		}
	}
	return false
}
