package proxy

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
)

// table is one immutable version of everything the proxy serves. Requests
// read it through an atomic.Pointer without locks; a change builds a new
// table and swaps the pointer.
type table struct {
	byHost map[string]*routeEntry
	byApp  map[string]*routeEntry
}

// routeEntry is one route as requests see it: the route and its backends'
// live state, in the route's order.
type routeEntry struct {
	route    Route
	backends []*backend
	next     atomic.Uint64 // round-robin start, for the balancer
	hold     *holdGate     // set while the route holds requests

	// releases groups the backends by release, for a Split and a forced
	// release; stable is the backends of the releases other than the
	// Split's (nil without a Split).
	releases map[int]*group
	stable   *group
	// previews are the entries of the route's preview hosts, by release.
	previews map[int]*routeEntry
	// proxyStats counts the requests to the app that the proxy answered
	// itself without trying a backend (maintenance, hold, 413, 503).
	proxyStats *releaseStats
	// preview is set on a preview host's entry, whose backends are those
	// of previewRelease alone.
	preview        bool
	previewRelease int
}

// serves reports whether b is a healthy backend of e.
func (e *routeEntry) serves(b *backend) bool {
	return b.healthy.Load() && slices.Contains(e.backends, b)
}

var emptyTable = &table{byHost: map[string]*routeEntry{}, byApp: map[string]*routeEntry{}}

// lookup returns the route that serves host (as sent by the client), or nil.
func (t *table) lookup(host string) *routeEntry {
	return t.byHost[normalizeHost(host)]
}

// normalizeHost lowercases host and strips its port and a trailing dot.
func normalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	host = strings.TrimSuffix(host, ".")
	return strings.ToLower(host)
}

// buildTable makes the table for routes, taking each backend's state from
// reg (which must already hold every address the routes name).
func buildTable(routes map[string]Route, reg registry) *table {
	t := &table{byHost: map[string]*routeEntry{}, byApp: map[string]*routeEntry{}}
	for app, r := range routes {
		e := newRouteEntry(r, reg)
		t.byApp[app] = e
		for _, h := range r.Hosts {
			t.byHost[normalizeHost(h)] = e
		}
		for h, release := range r.Previews {
			t.byHost[normalizeHost(h)] = e.previewEntry(release)
		}
	}
	return t
}

func newRouteEntry(r Route, reg registry) *routeEntry {
	e := &routeEntry{route: r, backends: make([]*backend, len(r.Backends)), releases: map[int]*group{}}
	if r.Split != nil {
		e.stable = &group{}
	}
	for i, be := range r.Backends {
		b := reg[be.Addr]
		e.backends[i] = b
		g := e.releases[be.Release]
		if g == nil {
			g = &group{}
			e.releases[be.Release] = g
		}
		g.backends = append(g.backends, b)
		if r.Split != nil && be.Release != r.Split.Release {
			e.stable.backends = append(e.stable.backends, b)
		}
	}
	return e
}

// previewEntry returns the entry that serves e's backends of release
// alone, made once per release.
func (e *routeEntry) previewEntry(release int) *routeEntry {
	if pe := e.previews[release]; pe != nil {
		return pe
	}
	pe := &routeEntry{route: e.route, preview: true, previewRelease: release}
	if g := e.releases[release]; g != nil {
		pe.backends = g.backends
	}
	if e.previews == nil {
		e.previews = map[int]*routeEntry{}
	}
	e.previews[release] = pe
	return pe
}

// ErrInvalidRoute is wrapped by SetRoute's errors for a route it refuses.
var ErrInvalidRoute = errors.New("invalid route")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRoute, fmt.Sprintf(format, args...))
}

// validateRoute checks r on its own and against the other installed routes
// (a host is served by one app only).
func validateRoute(r Route, others map[string]Route) error {
	if r.App == "" || strings.ContainsAny(r.App, "/ \t\r\n") {
		return invalid("app name %q", r.App)
	}
	taken := map[string]string{}
	for app, o := range others {
		if app == r.App {
			continue
		}
		for _, h := range o.Hosts {
			taken[normalizeHost(h)] = app
		}
		for h := range o.Previews {
			taken[normalizeHost(h)] = app
		}
	}
	seenHost := map[string]bool{}
	checkHost := func(h string) error {
		n := normalizeHost(h)
		if n == "" {
			return invalid("app %s: empty host", r.App)
		}
		if seenHost[n] {
			return invalid("app %s: host %s listed twice", r.App, n)
		}
		seenHost[n] = true
		if app, ok := taken[n]; ok {
			return invalid("app %s: host %s is already served by app %s", r.App, n, app)
		}
		return nil
	}
	for _, h := range r.Hosts {
		if err := checkHost(h); err != nil {
			return err
		}
	}
	for _, h := range slices.Sorted(maps.Keys(r.Previews)) {
		if err := checkHost(h); err != nil {
			return err
		}
	}
	if s := r.Split; s != nil && (s.Weight < 0 || s.Weight > 100) {
		return invalid("app %s: split weight %d is not a percentage (0..100)", r.App, s.Weight)
	}
	seenAddr := map[string]bool{}
	for _, b := range r.Backends {
		if _, port, err := net.SplitHostPort(b.Addr); err != nil || port == "" {
			return invalid("app %s: backend %q: address must be host:port", r.App, b.Addr)
		}
		if seenAddr[b.Addr] {
			return invalid("app %s: backend %s listed twice", r.App, b.Addr)
		}
		seenAddr[b.Addr] = true
	}
	h := r.Health
	if h.Interval < 0 || h.Timeout < 0 || h.HealthyThreshold < 0 || h.UnhealthyThreshold < 0 {
		return invalid("app %s: negative health setting", r.App)
	}
	if r.MaxBodyBytes < 0 {
		return invalid("app %s: negative max_body_bytes", r.App)
	}
	return nil
}

// sortedRoutes returns routes ordered by app name.
func sortedRoutes(routes map[string]Route) []Route {
	out := make([]Route, 0, len(routes))
	for _, r := range routes {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}
