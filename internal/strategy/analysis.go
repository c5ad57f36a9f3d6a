package strategy

import (
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/spec"
)

// AnalysisOf is the analysis a release is judged by between batches and
// while it bakes (releases recorded before it existed get the defaults).
func AnalysisOf(sp *spec.Spec) spec.Analysis {
	a := sp.Deploy.Analysis
	if a.Interval <= 0 {
		a = spec.Analysis{Interval: 5 * time.Second, MinRequests: 50, MaxErrorRate: 0.05}
	}
	return a
}

// Verdict is what one analysis of a canary concluded.
type Verdict int

const (
	Inconclusive Verdict = iota // too few requests: the step holds
	Pass
	Fail
)

// String is "inconclusive", "pass" or "fail".
func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return "inconclusive"
}

// Window is what a release served between two readings of the proxy's
// counters (which only grow).
type Window struct {
	Requests, Errors int64
	P50, P99         time.Duration
}

// ErrorRate is the share of the window's requests that failed.
func (w Window) ErrorRate() float64 {
	if w.Requests == 0 {
		return 0
	}
	return float64(w.Errors) / float64(w.Requests)
}

// Delta is what a release served between the readings before and now.
func Delta(before, now proxy.ReleaseMetrics) Window {
	d := proxy.ReleaseMetrics{Requests: now.Requests - before.Requests, Buckets: make([]int64, len(now.Buckets))}
	for i := range now.Buckets {
		d.Buckets[i] = now.Buckets[i]
		if i < len(before.Buckets) {
			d.Buckets[i] -= before.Buckets[i]
		}
	}
	errs := (now.Status[5] - before.Status[5]) + (now.ConnErrors - before.ConnErrors)
	return Window{Requests: d.Requests + (now.ConnErrors - before.ConnErrors), Errors: errs, P50: d.Quantile(0.5), P99: d.Quantile(0.99)}
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

// Windows are a canary release's window and the other releases' together,
// between two readings of the proxy's counters by release.
func Windows(before, now map[int]proxy.ReleaseMetrics, canaryRelease int) (canary, stable Window) {
	for rel, m := range now {
		w := Delta(before[rel], m)
		if rel == canaryRelease {
			canary = w
			continue
		}
		stable.Requests += w.Requests
		stable.Errors += w.Errors
		stable.P99 = max(stable.P99, w.P99)
	}
	return canary, stable
}

// Analyze judges a canary's window against the spec's limits, next to the
// stable release's window for the record. It is pure.
func Analyze(a spec.Analysis, canary, stable Window) (Verdict, string) {
	summary := fmt.Sprintf("canary: %d requests, %.1f%% errors, p99 %s; stable: %d requests, %.1f%% errors, p99 %s",
		canary.Requests, 100*canary.ErrorRate(), canary.P99, stable.Requests, 100*stable.ErrorRate(), stable.P99)
	if canary.Requests < int64(a.MinRequests) {
		// Errors can condemn a canary before the minimum: the error count
		// alone already exceeds what the minimum would allow.
		if canary.Errors > int64(a.MaxErrorRate*float64(a.MinRequests)) && canary.Errors > 0 {
			return Fail, fmt.Sprintf("error rate over %.1f%% (%s)", 100*a.MaxErrorRate, summary)
		}
		return Inconclusive, fmt.Sprintf("too few requests to judge (%d < %d); %s", canary.Requests, a.MinRequests, summary)
	}
	if canary.ErrorRate() > a.MaxErrorRate {
		return Fail, fmt.Sprintf("error rate %.1f%% over the %.1f%% limit (%s)", 100*canary.ErrorRate(), 100*a.MaxErrorRate, summary)
	}
	if a.MaxP99Latency > 0 && canary.P99 > a.MaxP99Latency {
		return Fail, fmt.Sprintf("p99 latency %s over the %s limit (%s)", canary.P99, a.MaxP99Latency, summary)
	}
	// Against stable: a canary much slower than the release it replaces
	// fails even within the absolute limit (judged only when both served
	// enough for a p99 to mean something).
	if sampled := int64(max(a.MinRequests, p99Sample)); canary.Requests >= sampled && stable.Requests >= sampled &&
		canary.P99 > 3*stable.P99 && canary.P99-stable.P99 > relativeSlack {
		return Fail, fmt.Sprintf("p99 latency %s, over 3× stable's %s (%s)", canary.P99, stable.P99, summary)
	}
	if stable.Requests >= int64(a.MinRequests) && canary.ErrorRate() > 2*stable.ErrorRate()+a.MaxErrorRate/2 {
		return Fail, fmt.Sprintf("error rate %.1f%%, well over stable's %.1f%% (%s)", 100*canary.ErrorRate(), 100*stable.ErrorRate(), summary)
	}
	return Pass, summary
}
