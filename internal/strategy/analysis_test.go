package strategy

import (
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/spec"
)

func metricsOf(requests, fivexx, connErrs int64, latency time.Duration) proxy.ReleaseMetrics {
	m := proxy.ReleaseMetrics{Requests: requests, ConnErrors: connErrs, Buckets: make([]int64, len(proxy.LatencyBuckets)+1)}
	m.Status[5] = fivexx
	m.Status[2] = requests - fivexx
	i := 0
	for i < len(proxy.LatencyBuckets) && latency > proxy.LatencyBuckets[i] {
		i++
	}
	m.Buckets[i] = requests
	return m
}

func TestAnalyze_JudgesTheCanaryOnItsWindow(t *testing.T) {
	a := spec.Analysis{MinRequests: 50, MaxErrorRate: 0.05, MaxP99Latency: 500 * time.Millisecond}
	zero := metricsOf(0, 0, 0, 0)
	stable := Delta(zero, metricsOf(1000, 1, 0, 2*time.Millisecond))
	cases := []struct {
		name   string
		before proxy.ReleaseMetrics
		now    proxy.ReleaseMetrics
		want   Verdict
		says   string
	}{
		{"healthy", zero, metricsOf(200, 2, 0, 3*time.Millisecond), Pass, "canary: 200 requests"},
		{"too few requests", zero, metricsOf(20, 0, 0, time.Millisecond), Inconclusive, "too few requests"},
		{"too many 5xx", zero, metricsOf(200, 30, 0, time.Millisecond), Fail, "error rate 15.0%"},
		{"connection errors count", zero, metricsOf(100, 0, 20, time.Millisecond), Fail, "error rate"},
		{"slow", zero, metricsOf(100, 0, 0, 2*time.Second), Fail, "p99 latency"},
		{"only the window counts", metricsOf(1000, 900, 0, time.Millisecond), metricsOf(1100, 900, 0, time.Millisecond), Pass, "0.0% errors"},
		{"errors condemn before the minimum", zero, metricsOf(10, 10, 0, time.Millisecond), Fail, "error rate over"},
		{"much slower than stable", zero, metricsOf(1000, 0, 0, 400*time.Millisecond), Fail, "over 3× stable's"},
		{"errors well over stable's", zero, metricsOf(1000, 40, 0, time.Millisecond), Fail, "well over stable's"},
		{"a p99 of too few requests is not compared", zero, metricsOf(115, 0, 0, 400*time.Millisecond), Pass, "canary: 115 requests"},
	}
	for _, c := range cases {
		got, why := Analyze(a, Delta(c.before, c.now), stable)
		if got != c.want || !strings.Contains(why, c.says) {
			t.Errorf("%s: %v %q; want %v and %q", c.name, got, why, c.want, c.says)
		}
	}
}
