package rollout

import (
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/spec"
)

// Verdict is what one analysis of a canary concluded.
type Verdict int

const (
	Inconclusive Verdict = iota // too few requests: the step holds
	Pass
	Fail
)

// window is what a release served between two readings of the proxy's
// counters (which only grow).
type window struct {
	requests, errors int64
	p50, p99         time.Duration
}

func (w window) errorRate() float64 {
	if w.requests == 0 {
		return 0
	}
	return float64(w.errors) / float64(w.requests)
}

// delta is what a release served between the readings before and now.
func delta(before, now proxy.ReleaseMetrics) window {
	d := proxy.ReleaseMetrics{Requests: now.Requests - before.Requests, Buckets: make([]int64, len(now.Buckets))}
	for i := range now.Buckets {
		d.Buckets[i] = now.Buckets[i]
		if i < len(before.Buckets) {
			d.Buckets[i] -= before.Buckets[i]
		}
	}
	errs := (now.Status[5] - before.Status[5]) + (now.ConnErrors - before.ConnErrors)
	return window{requests: d.Requests + (now.ConnErrors - before.ConnErrors), errors: errs, p50: d.Quantile(0.5), p99: d.Quantile(0.99)}
}

// p99Sample is how many requests each side needs before their p99s are
// compared: the p99 of a hundred requests is their slowest one or two, and
// an app with a slow endpoint, hit by chance more on one side, would have a
// healthy canary condemned (seen in CI at 100-115 requests a side). The
// absolute max_p99_latency holds at any count.
const p99Sample = 1000

// relativeSlack is how much slower than stable a canary's p99 may be
// before the comparison counts (small latencies vary a lot).
const relativeSlack = 250 * time.Millisecond

// analyze judges a canary's window against the spec's limits, next to the
// stable release's window for the record. It is pure.
func analyze(a spec.Analysis, canary, stable window) (Verdict, string) {
	summary := fmt.Sprintf("canary: %d requests, %.1f%% errors, p99 %s; stable: %d requests, %.1f%% errors, p99 %s",
		canary.requests, 100*canary.errorRate(), canary.p99, stable.requests, 100*stable.errorRate(), stable.p99)
	if canary.requests < int64(a.MinRequests) {
		// Errors can condemn a canary before the minimum: the error count
		// alone already exceeds what the minimum would allow.
		if canary.errors > int64(a.MaxErrorRate*float64(a.MinRequests)) && canary.errors > 0 {
			return Fail, fmt.Sprintf("error rate over %.1f%% (%s)", 100*a.MaxErrorRate, summary)
		}
		return Inconclusive, fmt.Sprintf("too few requests to judge (%d < %d); %s", canary.requests, a.MinRequests, summary)
	}
	if canary.errorRate() > a.MaxErrorRate {
		return Fail, fmt.Sprintf("error rate %.1f%% over the %.1f%% limit (%s)", 100*canary.errorRate(), 100*a.MaxErrorRate, summary)
	}
	if a.MaxP99Latency > 0 && canary.p99 > a.MaxP99Latency {
		return Fail, fmt.Sprintf("p99 latency %s over the %s limit (%s)", canary.p99, a.MaxP99Latency, summary)
	}
	// Against stable: a canary much slower than the release it replaces
	// fails even within the absolute limit (judged only when both served
	// enough for a p99 to mean something).
	if sampled := int64(max(a.MinRequests, p99Sample)); canary.requests >= sampled && stable.requests >= sampled &&
		canary.p99 > 3*stable.p99 && canary.p99-stable.p99 > relativeSlack {
		return Fail, fmt.Sprintf("p99 latency %s, over 3× stable's %s (%s)", canary.p99, stable.p99, summary)
	}
	if stable.requests >= int64(a.MinRequests) && canary.errorRate() > 2*stable.errorRate()+a.MaxErrorRate/2 {
		return Fail, fmt.Sprintf("error rate %.1f%%, well over stable's %.1f%% (%s)", 100*canary.errorRate(), 100*stable.errorRate(), summary)
	}
	return Pass, summary
}
