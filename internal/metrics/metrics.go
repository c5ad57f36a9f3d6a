// Package metrics exports nonstop's measurements in Prometheus format: the
// proxy's per-release request counts, status classes, connection errors
// and latency histograms, read through the proxy's controller at each
// scrape, and a few control-plane gauges from the store. docs/metrics.md
// lists the metrics.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Store is what the collector reads from the store: cheap reads, once per
// scrape.
type Store interface {
	Apps(ctx context.Context) ([]*store.App, error)
	ActiveInstances(ctx context.Context, appID int64) ([]*store.Instance, error)
	Rollouts(ctx context.Context, appID int64, limit int) ([]*store.Rollout, error)
}

var _ Store = (*store.Store)(nil)

// activeStates are the instance states exported, each always present so
// that a state dropping to none reads 0, not a missing series.
var activeStates = []store.InstanceState{store.InstanceStarting, store.InstanceServing, store.InstanceDraining}

// statusClasses are the values of the class label, by status/100.
var statusClasses = [6]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

// DefaultTimeout bounds each source a scrape reads (the proxy, the store).
const DefaultTimeout = 2 * time.Second

// Options configures a Collector.
type Options struct {
	// Timeout bounds the reads of one scrape from the proxy and from the
	// store, each; default DefaultTimeout.
	Timeout time.Duration
	// Usage, when set, measures the instances' CPU and memory (the
	// runtime's; instances it does not hold are left out).
	Usage runtime.UsageReader
}

// Collector is a prometheus.Collector of nonstop's measurements. It keeps
// no state: each scrape reads the proxy and the store afresh, so counters
// are the proxy's own (they restart from zero when the proxy does, which
// Prometheus's rate() handles as a counter reset).
type Collector struct {
	proxy   proxy.Controller
	store   Store
	usage   runtime.UsageReader
	timeout time.Duration

	requests   *prometheus.Desc
	connErrors *prometheus.Desc
	duration   *prometheus.Desc
	proxyUp    *prometheus.Desc
	apps       *prometheus.Desc
	instances  *prometheus.Desc
	cpu        *prometheus.Desc
	memory     *prometheus.Desc
	rollout    *prometheus.Desc
	live       *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector reading px and st (st may be nil: no
// control-plane gauges then).
func NewCollector(px proxy.Controller, st Store, opts Options) *Collector {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	release := []string{"app", "release"}
	return &Collector{
		proxy: px, store: st, usage: opts.Usage, timeout: opts.Timeout,
		requests: prometheus.NewDesc("nonstop_requests_total",
			"Requests the proxy answered with a backend's response, by app, release and status class.",
			[]string{"app", "release", "class"}, nil),
		connErrors: prometheus.NewDesc("nonstop_connection_errors_total",
			"Failed attempts to reach a backend of the release (connect refused, reset, no response), retried or not.",
			release, nil),
		duration: prometheus.NewDesc("nonstop_request_duration_seconds",
			"Time from the proxy forwarding a request to the end of the backend's response relayed to the client, by app and release.",
			release, nil),
		proxyUp: prometheus.NewDesc("nonstop_proxy_up",
			"Whether the proxy answered this scrape (1) or not (0: its measurements are missing from the scrape).",
			nil, nil),
		apps: prometheus.NewDesc("nonstop_apps",
			"Apps in the store.", nil, nil),
		instances: prometheus.NewDesc("nonstop_instances",
			"Instances the store records as starting, serving or draining, by app and state.",
			[]string{"app", "state"}, nil),
		cpu: prometheus.NewDesc("nonstop_instance_cpu_seconds_total",
			"CPU time an instance has used since it (last) started, by app, release and instance.",
			[]string{"app", "release", "instance"}, nil),
		memory: prometheus.NewDesc("nonstop_instance_memory_bytes",
			"Memory an instance holds (a container's without its inactive page cache; a process's resident set), by app, release and instance.",
			[]string{"app", "release", "instance"}, nil),
		rollout: prometheus.NewDesc("nonstop_rollout_state",
			"The state of the app's newest rollout: 1 for it, 0 for every other state.",
			[]string{"app", "state"}, nil),
		live: prometheus.NewDesc("nonstop_release_live",
			"The release that serves the app (1); apps with none are left out.",
			[]string{"app", "release"}, nil),
	}
}

// Describe sends the descriptors of every metric the collector emits.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.connErrors, c.duration, c.proxyUp, c.apps, c.instances, c.cpu, c.memory, c.rollout, c.live} {
		ch <- d
	}
}

// Collect reads the proxy and the store, each within the timeout, and
// sends their metrics. A failed read of the proxy reads as
// nonstop_proxy_up 0; a failed read of the store is an error of the
// scrape (the rest is still served).
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.collectProxy(ch)
	if c.store != nil {
		c.collectStore(ch)
	}
}

func (c *Collector) collectProxy(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	ms, err := c.proxy.Metrics(ctx, "")
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.proxyUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.proxyUp, prometheus.GaugeValue, 1)
	for _, m := range ms {
		c.collectRelease(ch, m)
	}
}

func (c *Collector) collectRelease(ch chan<- prometheus.Metric, m proxy.ReleaseMetrics) {
	release := strconv.Itoa(m.Release)
	for class := 1; class < len(m.Status); class++ {
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(m.Status[class]), m.App, release, statusClasses[class])
	}
	ch <- prometheus.MustNewConstMetric(c.connErrors, prometheus.CounterValue, float64(m.ConnErrors), m.App, release)
	count, buckets := cumulative(m.Buckets)
	h, err := prometheus.NewConstHistogram(c.duration, count, m.LatencySum.Seconds(), buckets, m.App, release)
	if err != nil {
		h = prometheus.NewInvalidMetric(c.duration, err)
	}
	ch <- h
}

// cumulative turns the proxy's histogram (counts per bucket, the last past
// every bound) into Prometheus's: the count at or under each upper bound
// in seconds, and the total.
func cumulative(counts []int64) (total uint64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(proxy.LatencyBuckets))
	for i, n := range counts {
		total += uint64(max(n, 0))
		if i < len(proxy.LatencyBuckets) {
			buckets[proxy.LatencyBuckets[i].Seconds()] = total
		}
	}
	return total, buckets
}

func (c *Collector) collectStore(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	apps, err := c.store.Apps(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.apps, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.apps, prometheus.GaugeValue, float64(len(apps)))
	var running []usageOf
	for _, a := range apps {
		ins, err := c.store.ActiveInstances(ctx, a.ID)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.instances, err)
			return
		}
		n := make(map[store.InstanceState]int, len(activeStates))
		for _, in := range ins {
			n[in.State]++
			running = append(running, usageOf{app: a.Name, in: in})
		}
		for _, s := range activeStates {
			ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(n[s]), a.Name, string(s))
		}
		if a.LiveRelease > 0 {
			ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, 1, a.Name, strconv.Itoa(a.LiveRelease))
		}
		ros, err := c.store.Rollouts(ctx, a.ID, 1)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.rollout, err)
			return
		}
		if len(ros) == 1 {
			for _, s := range store.RolloutStates {
				v := 0.0
				if ros[0].State == s {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(c.rollout, prometheus.GaugeValue, v, a.Name, string(s))
			}
		}
	}
	c.collectUsage(ctx, ch, running)
}

// usageOf is an active instance whose use is measured.
type usageOf struct {
	app string
	in  *store.Instance
	use runtime.Usage
	ok  bool
}

// collectUsage measures the instances at once (a container's reading takes
// about a second), within the scrape's timeout, and sends what was read.
func (c *Collector) collectUsage(ctx context.Context, ch chan<- prometheus.Metric, list []usageOf) {
	if c.usage == nil {
		return
	}
	var wg sync.WaitGroup
	for i := range list {
		wg.Go(func() {
			u, err := c.usage.Usage(ctx, list[i].in.ID)
			list[i].use, list[i].ok = u, err == nil
		})
	}
	wg.Wait()
	for _, x := range list {
		if !x.ok {
			continue
		}
		labels := []string{x.app, strconv.Itoa(x.in.Release), x.in.ID}
		ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, x.use.CPUSeconds, labels...)
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(x.use.MemoryBytes), labels...)
	}
}

// NewRegistry returns a registry of c and the standard Go runtime and
// process collectors (of this process: the control plane).
func NewRegistry(c *Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in Prometheus's text format (or OpenMetrics, as the
// scraper asks). A metric that fails is logged and left out; the rest is
// served.
func Handler(reg prometheus.Gatherer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slogPrintln{log},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             2 * DefaultTimeout,
	})
}

// slogPrintln adapts a slog.Logger to promhttp's error log.
type slogPrintln struct{ log *slog.Logger }

func (l slogPrintln) Println(v ...any) {
	l.log.Warn("metrics scrape", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}
