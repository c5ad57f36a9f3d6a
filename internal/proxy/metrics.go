package proxy

import (
	"context"
	"sort"
	"sync/atomic"
	"time"
)

// Per-release measurements: what the rollout engine judges a release by and
// what /metrics exports. Each request adds to a few atomic counters of the
// release its backend serves; nothing on the request path locks or
// allocates.

// LatencyBuckets are the upper bounds of the latency histogram.
var LatencyBuckets = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// releaseStats counts one release of one app.
type releaseStats struct {
	app     string
	release int

	requests   atomic.Int64
	status     [6]atomic.Int64 // index 1..5: 1xx..5xx
	connErrors atomic.Int64
	buckets    [16]atomic.Int64 // len(LatencyBuckets)+1: the last is +Inf
	sumMicros  atomic.Int64
}

func (s *releaseStats) observe(status int, d time.Duration) {
	s.requests.Add(1)
	if c := status / 100; c >= 1 && c <= 5 {
		s.status[c].Add(1)
	}
	i := 0
	for i < len(LatencyBuckets) && d > LatencyBuckets[i] {
		i++
	}
	s.buckets[i].Add(1)
	s.sumMicros.Add(d.Microseconds())
}

// ReleaseMetrics is a snapshot of one release's measurements.
type ReleaseMetrics struct {
	App        string   `json:"app"`
	Release    int      `json:"release"`
	Requests   int64    `json:"requests"`
	Status     [6]int64 `json:"status"` // index 1..5: 1xx..5xx
	ConnErrors int64    `json:"conn_errors"`
	// Buckets counts requests by latency: Buckets[i] took at most
	// LatencyBuckets[i]; the last counts the rest (not cumulative).
	Buckets    []int64       `json:"buckets"`
	LatencySum time.Duration `json:"latency_sum"`
}

// Quantile estimates the latency under which q of the requests finished,
// from the histogram (the upper bound of the bucket it falls in).
func (m ReleaseMetrics) Quantile(q float64) time.Duration {
	var total int64
	for _, n := range m.Buckets {
		total += n
	}
	if total == 0 {
		return 0
	}
	want := int64(q*float64(total) + 0.5)
	var seen int64
	for i, n := range m.Buckets {
		if seen += n; seen >= want && i < len(LatencyBuckets) {
			return LatencyBuckets[i]
		} else if seen >= want {
			break
		}
	}
	return LatencyBuckets[len(LatencyBuckets)-1]
}

func (s *releaseStats) snapshot() ReleaseMetrics {
	m := ReleaseMetrics{App: s.app, Release: s.release, Requests: s.requests.Load(), ConnErrors: s.connErrors.Load(),
		Buckets: make([]int64, len(s.buckets)), LatencySum: time.Duration(s.sumMicros.Load()) * time.Microsecond}
	for i := range s.status {
		m.Status[i] = s.status[i].Load()
	}
	for i := range s.buckets {
		m.Buckets[i] = s.buckets[i].Load()
	}
	return m
}

// metrics finds the stats of a request's release through its backend.
type metrics struct{}

func (metrics) observe(e *routeEntry, b *backend, status int, d time.Duration) {
	if s := b.stats.Load(); s != nil {
		s.observe(status, d)
	}
}

func (metrics) connError(e *routeEntry, b *backend) {
	if s := b.stats.Load(); s != nil {
		s.connErrors.Add(1)
	}
}

type releaseKey struct {
	app     string
	release int
}

// statsFor returns (creating) the stats of an app's release. Caller holds p.mu.
func (p *Proxy) statsFor(app string, release int) *releaseStats {
	k := releaseKey{app, release}
	s, ok := p.stats[k]
	if !ok {
		s = &releaseStats{app: app, release: release}
		p.stats[k] = s
	}
	return s
}

// Metrics returns the measurements of every release of app the proxy has
// seen (app "" for all apps), by app and release. Release 0, once it has
// any, counts the requests the proxy answered itself without trying a
// backend; with app
// "", an entry with App "" counts those to hosts no app is served at.
func (p *Proxy) Metrics(ctx context.Context, app string) ([]ReleaseMetrics, error) {
	p.mu.Lock()
	var list []*releaseStats
	for k, s := range p.stats {
		if (app == "" || k.app == app) && (k.release != 0 || s.requests.Load() > 0) {
			list = append(list, s)
		}
	}
	p.mu.Unlock()
	if app == "" && p.unrouted.requests.Load() > 0 {
		list = append(list, p.unrouted) // app "", release 0: hosts no app is served at
	}
	out := make([]ReleaseMetrics, 0, len(list))
	for _, s := range list {
		out = append(out, s.snapshot())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].App != out[j].App {
			return out[i].App < out[j].App
		}
		return out[i].Release < out[j].Release
	})
	return out, nil
}
