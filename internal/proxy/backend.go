package proxy

import (
	"github.com/nonstopdev/nonstop/internal/proxy/h1"

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
	pool h1.Pool
	// idleLimit (ns) is how long an idle connection to the backend is kept
	// once the backend has shown it closes them sooner than the proxy
	// would (0: not learned; see noteIdleClose).
	idleLimit atomic.Int64
	// sloppy is set once the backend wrote bytes no request asked for:
	// its connections are not reused after that, since its answers
	// cannot be trusted to end where their framing says.
	sloppy atomic.Bool

	refs   int       // routes naming this backend (Proxy.mu)
	leftAt time.Time // when refs dropped to 0 (Proxy.mu)
}

func newBackend(addr string) *backend {
	b := &backend{addr: addr}
	b.healthy.Store(true)
	b.pool.OnIdleClose = b.noteIdleClose
	b.pool.OnDirty = func() { b.sloppy.Store(true) }
	return b
}

// minIdleLimit is the least idleLimit learned from a backend: below it,
// keeping connections is not worth it.
const minIdleLimit = 50 * time.Millisecond

// noteIdleClose learns from a connection the backend closed after idle:
// later connections are kept for three quarters of that, so the proxy,
// not the backend, is the side that closes them (a backend that closes a
// connection races a request sent on it). Servers with short keep-alive
// timeouts (Node's 5 s, a Go server's IdleTimeout, gunicorn's 2 s) are
// learned from their first close.
func (b *backend) noteIdleClose(idle time.Duration) {
	b.lowerIdleLimit(max(idle*3/4, minIdleLimit))
}

// noteIdleHint learns from a Keep-Alive: timeout=N answer header.
func (b *backend) noteIdleHint(seconds int64) {
	if seconds > 0 && seconds < 3600 {
		b.lowerIdleLimit(time.Duration(seconds) * time.Second * 3 / 4)
	}
}

func (b *backend) lowerIdleLimit(d time.Duration) {
	for {
		old := b.idleLimit.Load()
		if old != 0 && old <= int64(d) {
			return
		}
		if b.idleLimit.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// maxIdle is how long an idle connection to b is kept, at most def.
func (b *backend) maxIdle(def time.Duration) time.Duration {
	if l := time.Duration(b.idleLimit.Load()); l > 0 && l < def {
		return l
	}
	return def
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
			b.pool.CloseAll()
			delete(r, addr)
		}
	}
}
