package history

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// MaxPoints bounds the points of one series: a step too fine for the
// window is widened.
const MaxPoints = 1440

// Series is an app's traffic over a window, one point per step: in all
// (Total) and by release. A step with no request has NaN rates and
// latencies (the chart draws a gap), and zero requests.
type Series struct {
	Since, Until time.Time
	Step         time.Duration
	Times        []time.Time // the start of each step
	Total        Points
	Releases     map[int]*Points
}

// Points are the measurements of one series, one per step.
type Points struct {
	Requests  []int64
	RPS       []float64 // requests per second
	ErrorRate []float64 // (5xx + connection errors) / requests, 0..1
	P50, P99  []float64 // latency, milliseconds (interpolated in the histogram's bucket)
}

// Query reads appID's traffic in [since, until) by step, from the Fine
// samples when the window is within the hour they are kept and the step is
// under a minute, else from the Coarse ones; the step is rounded up to a
// multiple of the samples' and widened to give at most MaxPoints.
func Query(ctx context.Context, st Store, appID int64, since, until time.Time, step time.Duration) (*Series, error) {
	if !since.Before(until) {
		return nil, fmt.Errorf("the window %s..%s is empty", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	src := Coarse
	if step < Coarse && !since.Before(until.Add(-FineKeep)) {
		src = Fine
	}
	step = max(step, src).Truncate(src)
	if n := until.Sub(since) / step; n > MaxPoints {
		step = (until.Sub(since) / MaxPoints).Truncate(src) + src
	}
	since = since.Truncate(step)
	samples, err := st.Samples(ctx, appID, src, since, until)
	if err != nil {
		return nil, err
	}
	s := &Series{Since: since, Until: until, Step: step, Releases: map[int]*Points{}}
	for t := since; t.Before(until); t = t.Add(step) {
		s.Times = append(s.Times, t)
	}
	n := len(s.Times)
	total := make([]store.Sample, n)
	byRelease := map[int][]store.Sample{}
	for _, x := range samples {
		i := int(x.At.Sub(since) / step)
		if i < 0 || i >= n {
			continue
		}
		add(&total[i], x)
		if byRelease[x.Release] == nil {
			byRelease[x.Release] = make([]store.Sample, n)
		}
		add(&byRelease[x.Release][i], x)
	}
	s.Total = points(total, step)
	for rel, slots := range byRelease {
		p := points(slots, step)
		s.Releases[rel] = &p
	}
	return s, nil
}

// points turns summed samples into a series' points.
func points(slots []store.Sample, step time.Duration) Points {
	p := Points{}
	for _, x := range slots {
		p.Requests = append(p.Requests, x.Requests)
		p.RPS = append(p.RPS, float64(x.Requests)/step.Seconds())
		if x.Requests == 0 && x.ConnErrors == 0 {
			p.ErrorRate = append(p.ErrorRate, math.NaN())
		} else {
			p.ErrorRate = append(p.ErrorRate, min(1, float64(x.Errors+x.ConnErrors)/float64(max(x.Requests, 1))))
		}
		p.P50 = append(p.P50, quantileMs(x.Latency, 0.50))
		p.P99 = append(p.P99, quantileMs(x.Latency, 0.99))
	}
	return p
}

// quantileMs estimates the q-quantile of a latency histogram, in ms, by
// linear interpolation inside the bucket it falls in (as Prometheus's
// histogram_quantile does); NaN for no request. The last bucket, which has
// no upper bound, answers its lower one.
func quantileMs(counts []int64, q float64) float64 {
	var total int64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return math.NaN()
	}
	rank := q * float64(total)
	var seen float64
	bounds := proxy.LatencyBuckets
	for i, n := range counts {
		if n == 0 || seen+float64(n) < rank {
			seen += float64(n)
			continue
		}
		lo := 0.0
		if i > 0 {
			lo = ms(bounds[min(i, len(bounds))-1])
		}
		if i >= len(bounds) {
			return lo
		}
		return lo + (ms(bounds[i])-lo)*(rank-seen)/float64(n)
	}
	return ms(bounds[len(bounds)-1])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
