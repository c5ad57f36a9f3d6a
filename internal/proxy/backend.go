package proxy

import (
	"strconv"
	"sync/atomic"
	"time"
)

// backend is the proxy's live state for one address. It outlives route
// versions: every route that names the same Addr shares one backend, so
// counters and in-flight counts survive a swap.
//
// The counters are atomics read and written by requests; refs and leftAt
// belong to the control side and are guarded by Proxy.mu.
type backend struct {
	addr string

	inflight atomic.Int64
	requests atomic.Int64
	failures atomic.Int64
	healthy  atomic.Bool
	// checked is true while an active health loop watches the backend:
	// only then may a failed connect eject it, since only the loop
	// re-admits it.
	checked atomic.Bool
	// ejections is bumped by each passive ejection, so the health loop
	// counts its successes again from zero.
	ejections atomic.Uint64
	lastErr   atomic.Pointer[string]
	// failStreak counts 5xx answers in a row, for passive ejection.
	failStreak atomic.Int64
	// stats are the measurements of the release this backend serves.
	stats atomic.Pointer[releaseStats]
	// pool keeps the fast path's connections to the backend.
	pool connPool

	refs   int       // routes naming this backend (Proxy.mu)
	leftAt time.Time // when refs dropped to 0 (Proxy.mu)
}

func newBackend(addr string) *backend {
	b := &backend{addr: addr}
	b.healthy.Store(true)
	return b
}

// fail records a failed attempt or response.
func (b *backend) fail(msg string) {
	b.failures.Add(1)
	b.lastErr.Store(&msg)
}

// eject marks the backend unhealthy at once, after a failed connect, when
// a health loop will re-admit it. It reports whether it did.
func (b *backend) eject(msg string) bool {
	if !b.checked.Load() {
		return false
	}
	b.ejections.Add(1)
	b.lastErr.Store(&msg)
	return b.healthy.Swap(false)
}

// passiveEjectAfter is how many 5xx answers in a row take a backend out of
// the pool until its health checks re-admit it.
const passiveEjectAfter = 5

// answered notes a backend's answer status for passive ejection: after
// passiveEjectAfter 5xx in a row it is ejected, unless it is the last
// healthy backend of its route (then its 5xx are the app's answer, better
// than none). It reports whether it ejected b.
func (b *backend) answered(e *routeEntry, status int) bool {
	if status < 500 {
		if b.failStreak.Load() != 0 {
			b.failStreak.Store(0)
		}
		return false
	}
	if b.failStreak.Add(1) < passiveEjectAfter || !e.anotherHealthy(b) {
		return false
	}
	b.failStreak.Store(0)
	return b.eject(strconv.Itoa(passiveEjectAfter) + " answers in a row with status 5xx, the last " + strconv.Itoa(status))
}

func (b *backend) status(be Backend) BackendStatus {
	s := BackendStatus{
		Backend:  be,
		Healthy:  b.healthy.Load(),
		InFlight: b.inflight.Load(),
		Requests: b.requests.Load(),
		Failures: b.failures.Load(),
	}
	if e := b.lastErr.Load(); e != nil {
		s.LastErr = *e
	}
	return s
}

// registryRetention is how long a backend that left every route is kept,
// so that a request which picked it from an older table, or a Drain, still
// finds its counters.
const registryRetention = time.Minute

// registry maps addresses to backends. It is used by the control side only,
// under Proxy.mu; requests reach backends through the route table.
type registry map[string]*backend

// acquire returns the backend at addr, creating it healthy if new. A
// backend that comes back after leaving every route starts healthy again:
// callers add only backends they have seen pass their health check.
func (r registry) acquire(addr string) *backend {
	b, ok := r[addr]
	if !ok {
		b = newBackend(addr)
		r[addr] = b
	}
	if b.refs == 0 {
		b.healthy.Store(true)
		b.leftAt = time.Time{}
	}
	b.refs++
	return b
}

// release drops one reference to b.
func (r registry) release(b *backend, now time.Time) {
	b.refs--
	if b.refs == 0 {
		b.leftAt = now
	}
}

// prune forgets backends that left every route more than the retention ago
// and have nothing in flight.
func (r registry) prune(now time.Time) {
	for addr, b := range r {
		if b.refs == 0 && now.Sub(b.leftAt) > registryRetention && b.inflight.Load() == 0 {
			b.pool.closeAll()
			delete(r, addr)
		}
	}
}
