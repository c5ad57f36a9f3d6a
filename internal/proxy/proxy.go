// Package proxy is nonstop's data plane: a reverse proxy that routes by
// host to healthy backends, balances by least requests in flight, retries
// requests that never reached a backend, health-checks backends, drains
// them, and takes its routes from the control plane over a unix socket.
//
// Traffic never depends on the control plane: routes live in memory (and
// in a state file, so a restarted proxy serves the last routes at once),
// requests read them without locks, and a route change is one atomic swap.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nonstopdev/nonstop/internal/health"
)

var (
	// ErrUnknownApp is returned for an app that has no route.
	ErrUnknownApp = errors.New("unknown app")
	// ErrClosed is returned by a Proxy after Close.
	ErrClosed = errors.New("proxy closed")
)

// Options configures a Proxy. The zero value works.
type Options struct {
	Logger *slog.Logger // nil: discard
	// StateFile, if set, is where routes are saved after every change
	// (atomically: temp file, fsync, rename) and read back by Load.
	StateFile string

	// Transport to the backends.
	DialTimeout time.Duration // default 5s; a dial that fails is retried on another backend
	// IdleConnTimeout closes idle connections to backends. It is short by
	// default (1s) so that the proxy, not the backend, closes an idle
	// connection: a backend that does so races a request reusing it,
	// which then fails and cannot always be retried.
	IdleConnTimeout     time.Duration
	MaxIdleConnsPerHost int // default 64
	// ResponseHeaderTimeout bounds the wait for a backend's answer head
	// once the request is sent (default 5m, long polls within it; < 0:
	// none). Past it the client gets 504.
	ResponseHeaderTimeout time.Duration
	MaxAttempts           int // tries per request, default 3
	// RequestBodyTimeout bounds each read of a request body (default
	// 30s): a body that brings nothing for that long ends its request.
	RequestBodyTimeout time.Duration
	// AccessLog, if set, gets one record per proxied request.
	AccessLog *AccessLog
	// Reserved are nonstop's own listeners (the proxy's, the API's):
	// SetRoute refuses a backend that is one of them, so that no app is
	// routed to the platform.
	Reserved []string
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = time.Second
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 64
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.RequestBodyTimeout <= 0 {
		o.RequestBodyTimeout = 30 * time.Second
	}
	switch {
	case o.ResponseHeaderTimeout == 0:
		o.ResponseHeaderTimeout = 5 * time.Minute
	case o.ResponseHeaderTimeout < 0:
		o.ResponseHeaderTimeout = 0
	}
	return o
}

// Proxy is the data plane. It is an http.Handler for the apps' traffic and
// a Controller for the control plane. All methods are safe for concurrent
// use; requests never wait on route changes.
type Proxy struct {
	opts         Options
	log          *slog.Logger
	table        atomic.Pointer[table]
	rp           *httputil.ReverseProxy
	transport    *attemptTransport
	healthClient *http.Client

	mu       sync.Mutex // serialises route changes; never taken by requests
	closed   bool
	routes   map[string]Route
	reg      registry
	checkers map[string]*checker
	stats    map[releaseKey]*releaseStats
	holds    map[string]*holdGate
	metrics  metrics
	// unrouted counts the requests to hosts no app is served at.
	unrouted *releaseStats
	dialer   net.Dialer
	// prewarming counts the goroutines opening connections ahead of time.
	prewarming sync.WaitGroup
}

var _ Controller = (*Proxy)(nil)
var _ http.Handler = (*Proxy)(nil)

// New returns a Proxy with no routes. Call Load to serve the routes saved
// in Options.StateFile, and Close to stop its health checks.
func New(opts Options) *Proxy {
	opts = opts.withDefaults()
	p := &Proxy{
		opts:         opts,
		log:          opts.Logger,
		healthClient: health.NewClient(),
		routes:       map[string]Route{},
		reg:          registry{},
		checkers:     map[string]*checker{},
		stats:        map[releaseKey]*releaseStats{},
		holds:        map[string]*holdGate{},
		unrouted:     &releaseStats{},
		dialer:       net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second},
	}
	p.table.Store(emptyTable)
	p.transport = newAttemptTransport(p, opts)
	p.rp = p.newReverseProxy()
	return p
}

// Close stops the proxy's health checks and closes idle connections to
// backends. Requests in flight go on; serving stops when the caller's
// http.Server stops. Close is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for addr, c := range p.checkers {
		c.stop()
		delete(p.checkers, addr)
	}
	backends := make([]*backend, 0, len(p.reg))
	for _, b := range p.reg {
		backends = append(backends, b)
	}
	p.mu.Unlock()
	p.prewarming.Wait()
	for _, b := range backends {
		b.pool.CloseIdle()
	}
	p.transport.closeIdle()
	p.healthClient.CloseIdleConnections()
	return nil
}

// SetRoute installs or replaces r in one atomic swap, then saves the
// routes to the state file. If only the save fails, the route is live and
// the error says so; calling SetRoute again is safe.
func (p *Proxy) SetRoute(ctx context.Context, r Route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if err := validateRoute(r, p.routes); err != nil {
		return err
	}
	for _, b := range r.Backends {
		if own := reservedAddr(b.Addr, p.opts.Reserved); own != "" {
			return invalid("app %s: backend %s is nonstop's own listener %s", r.App, b.Addr, own)
		}
	}
	next := maps.Clone(p.routes)
	next[r.App] = cloneRoute(r)
	p.install(next)
	p.log.Info("route set", "app", r.App, "hosts", r.Hosts, "backends", len(r.Backends), "maintenance", r.Maintenance)
	if err := p.save(); err != nil {
		return fmt.Errorf("route %s is live but not saved: %w", r.App, err)
	}
	return nil
}

// DeleteRoute removes the app's route; its hosts then get 404. Deleting an
// unknown app returns an error wrapping ErrUnknownApp.
func (p *Proxy) DeleteRoute(ctx context.Context, app string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if _, ok := p.routes[app]; !ok {
		return fmt.Errorf("delete route %s: %w", app, ErrUnknownApp)
	}
	next := maps.Clone(p.routes)
	delete(next, app)
	p.install(next)
	p.log.Info("route deleted", "app", app)
	if err := p.save(); err != nil {
		return fmt.Errorf("route %s is deleted but not saved: %w", app, err)
	}
	return nil
}

// install makes next the served routes: backends are acquired before the
// old ones are released (so a backend kept across versions keeps its
// state), the new table is swapped in, then health loops follow.
// Caller holds p.mu.
func (p *Proxy) install(next map[string]Route) {
	now := time.Now()
	var joined []*backend
	for _, r := range next {
		for _, b := range r.Backends {
			if be := p.reg.acquire(b.Addr); be.refs == 1 {
				joined = append(joined, be)
			}
		}
	}
	for _, b := range joined {
		p.prewarm(b)
	}
	for _, r := range p.routes {
		for _, b := range r.Backends {
			p.reg.release(p.reg[b.Addr], now)
		}
	}
	for _, r := range next {
		for _, be := range r.Backends {
			p.reg[be.Addr].stats.Store(p.statsFor(r.App, be.Release))
		}
	}
	p.routes = next
	t := buildTable(next, p.reg)
	for app, e := range t.byApp {
		e.proxyStats = p.statsFor(app, 0)
		for _, pe := range e.previews {
			pe.proxyStats = e.proxyStats
		}
	}
	p.syncHolds(t)
	p.table.Store(t)
	p.syncCheckers()
	p.reg.prune(now)
}

// Status reports the app's backends, in the route's order.
func (p *Proxy) Status(ctx context.Context, app string) ([]BackendStatus, error) {
	e := p.table.Load().byApp[app]
	if e == nil {
		return nil, fmt.Errorf("status of %s: %w", app, ErrUnknownApp)
	}
	out := make([]BackendStatus, len(e.backends))
	for i, b := range e.backends {
		out[i] = b.status(e.route.Backends[i])
	}
	return out, nil
}

// Routes returns every installed route, ordered by app.
func (p *Proxy) Routes(ctx context.Context) ([]Route, error) {
	t := p.table.Load()
	out := make([]Route, 0, len(t.byApp))
	for _, e := range t.byApp {
		out = append(out, cloneRoute(e.route))
	}
	slices.SortFunc(out, func(a, b Route) int {
		switch {
		case a.App < b.App:
			return -1
		case a.App > b.App:
			return 1
		}
		return 0
	})
	return out, nil
}

// cloneRoute copies r's slices, map and split, so the caller's later changes do not
// reach the immutable table.
func cloneRoute(r Route) Route {
	r.Hosts = slices.Clone(r.Hosts)
	r.Backends = slices.Clone(r.Backends)
	if r.Split != nil {
		s := *r.Split
		r.Split = &s
	}
	r.Previews = maps.Clone(r.Previews)
	return r
}

// prewarmConns is how many connections a backend that joins a route gets
// opened ahead of its first requests, so that a cut-over does not begin
// with a wave of connects. One, not more: a server with one connection
// at a time (gunicorn's sync worker) sits on the first connection it
// accepts until a request comes on it, and the pool hands out its newest
// connection first, so with several the one it sits on would be used last.
const prewarmConns = 1

// prewarm opens connections to a backend that just joined, in the
// background; each dial is bounded by the dial timeout.
func (p *Proxy) prewarm(b *backend) {
	p.prewarming.Add(1)
	go func() {
		defer p.prewarming.Done()
		for range prewarmConns {
			u, err := p.dialUpstream(context.Background(), b)
			if err != nil {
				return
			}
			b.pool.Put(u, time.Now(), p.opts.MaxIdleConnsPerHost)
		}
	}()
}

// Addrs returns every backend address the proxy knows, in a route or
// left one lately (for a drain of everything at shutdown).
func (p *Proxy) Addrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.reg))
	for a := range p.reg {
		out = append(out, a)
	}
	return out
}

// Serves reports whether a route serves host (as a client sends it);
// certificates are only issued for such hosts.
func (p *Proxy) Serves(host string) bool {
	return p.table.Load().lookup(host) != nil
}
