package proxy

import (
	"context"
	"time"
)

// Route is what the proxy serves for one app: the hosts it answers and the
// backends it balances over. Routes are immutable once handed to the proxy;
// a change is a new Route swapped in atomically.
type Route struct {
	App      string    `json:"app"`
	Hosts    []string  `json:"hosts"`
	Backends []Backend `json:"backends"`
	Health   Health    `json:"health"`
	// Maintenance serves a maintenance page (503) instead of proxying.
	Maintenance bool `json:"maintenance,omitempty"`
	// MaxBodyBytes limits request bodies (413 past it); 0 means no limit.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// Hold, when set, holds new requests until a route without it comes.
	Hold *Hold `json:"hold,omitempty"`
	// Split, when set, sends a share of the clients to one release (a
	// canary) and the others to the other backends; each client keeps its
	// share in a cookie the proxy sets. Without it, requests go to all the
	// route's backends.
	Split *Split `json:"split,omitempty"`
	// Previews are hosts that serve one release alone (e.g. v7.APP.localhost
	// for a blue-green preview): host → release. The release's backends are
	// among Backends; the route's Hosts serve them too unless a Split keeps
	// them off (Split{Release: N, Weight: 0}).
	Previews map[string]int `json:"previews,omitempty"`
}

// Split sends a share of the app's clients to one release: a canary.
//
// Each client gets a bucket 0..99, random at its first request and kept in
// the nonstop_bucket cookie; a client whose bucket is below Weight goes to
// the canary, the others to the stable backends (those of other releases).
// So raising the weight only moves clients from stable to canary, and each
// client sees one version at a time. A request whose group has no healthy
// backend goes to the other group. The header X-Nonstop-Release: N (or vN)
// sends a request to release N when the route has a healthy backend of it.
type Split struct {
	Release int `json:"release"` // the canary release
	Weight  int `json:"weight"`  // percent of clients sent to it, 0..100
}

// Backend is one instance the proxy may send requests to.
type Backend struct {
	ID      string `json:"id"`      // instance ID
	Addr    string `json:"addr"`    // host:port
	Release int    `json:"release"` // release version, for measurements
}

// Health is the active health check the proxy runs against each backend.
// An empty Path means no active check: the backends are then never ejected
// (a failed connect is still retried on another backend). With a Path,
// fields left at zero default to a 1s interval, a 2s timeout and
// thresholds of 2.
type Health struct {
	Path               string        `json:"path"`
	Interval           time.Duration `json:"interval"`
	Timeout            time.Duration `json:"timeout"`
	HealthyThreshold   int           `json:"healthy_threshold"`
	UnhealthyThreshold int           `json:"unhealthy_threshold"`
}

// BackendStatus is the proxy's view of one backend.
type BackendStatus struct {
	Backend
	Healthy  bool   `json:"healthy"`
	InFlight int64  `json:"in_flight"`
	Requests int64  `json:"requests"`
	Failures int64  `json:"failures"`
	LastErr  string `json:"last_error,omitempty"`
}

// Controller is how the control plane drives the data plane. The in-process
// *Proxy implements it, and so does *Client over the proxy's unix socket.
type Controller interface {
	// SetRoute installs or replaces the app's route in one atomic swap.
	// Backends new to the proxy start healthy: callers add only backends
	// they have seen pass their health check. Backends left out stop
	// receiving new requests at once; requests in flight to them go on.
	SetRoute(ctx context.Context, r Route) error
	// DeleteRoute removes the app's route; its hosts then get 404.
	DeleteRoute(ctx context.Context, app string) error
	// Drain waits until no request is in flight to the backends at addrs,
	// or until timeout; it reports how many requests were still in flight
	// when it returned.
	Drain(ctx context.Context, addrs []string, timeout time.Duration) (remaining int64, err error)
	// Status reports the health and counters of the app's backends.
	Status(ctx context.Context, app string) ([]BackendStatus, error)
	// Routes returns every installed route.
	Routes(ctx context.Context) ([]Route, error)
	// Metrics returns the measurements of every release of app the proxy
	// has served (app "" for all apps), by app and release; an app it
	// has not seen has none (not an error).
	Metrics(ctx context.Context, app string) ([]ReleaseMetrics, error)
}
