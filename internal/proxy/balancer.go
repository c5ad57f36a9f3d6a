package proxy

// pick chooses the backend for one attempt: the healthy backend with the
// fewest requests in flight, ties broken round-robin. It avoids the
// backends in tried while another healthy one exists, and returns nil when
// none is healthy.
func (e *routeEntry) pick(tried []*backend) *backend {
	n := len(e.backends)
	if n == 0 {
		return nil
	}
	start := int(e.next.Add(1) % uint64(n))
	var best, fallback *backend
	var bestLoad, fallbackLoad int64
	for i := range n {
		b := e.backends[(start+i)%n]
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
	if best != nil {
		return best
	}
	return fallback
}

// anyHealthy reports whether some backend may take a request.
func (e *routeEntry) anyHealthy() bool {
	for _, b := range e.backends {
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
