package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy/daemon"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/nonstopdev/nonstop/internal/metrics"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// servedProxy is a real proxy serving on loopback as the daemon does.
type servedProxy struct {
	px   *proxy.Proxy
	addr string
	http *http.Client
}

func startProxy(t *testing.T) *servedProxy {
	t.Helper()
	px := proxy.New(proxy.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := proxy.NewFastServer(px, proxy.NewServer("", px))
	go fs.Serve(ln)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fs.Shutdown(ctx)
		px.Close()
	})
	return &servedProxy{px: px, addr: ln.Addr().String(), http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

func (s *servedProxy) get(t *testing.T, host, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.addr+path, nil)
	req.Host = host
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// backend answers 500 after 30ms on /fail and 200 at once otherwise.
func backend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			time.Sleep(30 * time.Millisecond)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// traffic sends shop 5 answers on release 1 (2 of them 500s) and 4 over a
// route with a dead backend of release 2 and a live one of release 3.
func traffic(t *testing.T, s *servedProxy) {
	t.Helper()
	ctx := context.Background()
	r := proxy.Route{App: "shop", Hosts: []string{"shop.test"}, Backends: []proxy.Backend{{ID: "a", Addr: backend(t), Release: 1}}}
	if err := s.px.SetRoute(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/fail", "/", "/fail", "/"} {
		s.get(t, "shop.test", path)
	}
	r.Backends = []proxy.Backend{{ID: "dead", Addr: deadAddr(t), Release: 2}, {ID: "b", Addr: backend(t), Release: 3}}
	if err := s.px.SetRoute(ctx, r); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if code := s.get(t, "shop.test", "/"); code != http.StatusOK {
			t.Fatalf("with a dead backend: %d, want the request retried on the live one", code)
		}
	}
	waitMeasured(t, s.px, 9)
}

// waitMeasured waits until px has measured n answered requests: a request
// is measured just after its answer reached the client.
func waitMeasured(t *testing.T, px *proxy.Proxy, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ms, err := px.Metrics(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, m := range ms {
			got += m.Requests
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests measured after 5s, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testStore records apps shop (a serving, a draining and a stopped
// instance) and blog (none).
func testStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Bootstrap(ctx, "hash"); err != nil {
		t.Fatal(err)
	}
	team, err := st.TeamID(ctx, store.DefaultTeam)
	if err != nil {
		t.Fatal(err)
	}
	shop, err := st.CreateApp(ctx, "shop", team, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateApp(ctx, "blog", team, nil); err != nil {
		t.Fatal(err)
	}
	for id, state := range map[string]store.InstanceState{"shop-1": store.InstanceServing, "shop-2": store.InstanceDraining, "shop-3": store.InstanceStopped} {
		if err := st.CreateInstance(ctx, store.Instance{ID: id, AppID: shop.ID, Release: 1, RolloutID: 1}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetInstanceState(ctx, id, state, "127.0.0.1:1"); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestCollector_ExportsRequestsByClassConnErrorsAndStoreGauges(t *testing.T) {
	s := startProxy(t)
	traffic(t, s)
	c := metrics.NewCollector(s.px, testStore(t), metrics.Options{})

	want := `
# HELP nonstop_apps Apps in the store.
# TYPE nonstop_apps gauge
nonstop_apps 2
# HELP nonstop_instances Instances the store records as starting, serving or draining, by app and state.
# TYPE nonstop_instances gauge
nonstop_instances{app="blog",state="draining"} 0
nonstop_instances{app="blog",state="serving"} 0
nonstop_instances{app="blog",state="starting"} 0
nonstop_instances{app="shop",state="draining"} 1
nonstop_instances{app="shop",state="serving"} 1
nonstop_instances{app="shop",state="starting"} 0
# HELP nonstop_proxy_up Whether the proxy answered this scrape (1) or not (0: its measurements are missing from the scrape).
# TYPE nonstop_proxy_up gauge
nonstop_proxy_up 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "nonstop_apps", "nonstop_instances", "nonstop_proxy_up"); err != nil {
		t.Error(err)
	}
	// Round-robin sends about every other request to the dead backend first.
	reg := metrics.NewRegistry(c)
	for release, want := range map[string][2]float64{"1": {0, 0}, "2": {1, 4}, "3": {0, 0}} {
		if n := value(t, reg, "nonstop_connection_errors_total", "app=shop,release="+release); n < want[0] || n > want[1] {
			t.Errorf("connection errors of release %s: %g, want %g to %g", release, n, want[0], want[1])
		}
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(requestsText), "nonstop_requests_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "nonstop_request_duration_seconds"); err != nil || n != 3 {
		t.Errorf("%d latency histograms, %v; want one per release (3)", n, err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Errorf("lint: %+v, %v", problems, err)
	}
}

const requestsText = `
# HELP nonstop_requests_total Requests the proxy answered with a backend's response, by app, release and status class.
# TYPE nonstop_requests_total counter
nonstop_requests_total{app="shop",class="1xx",release="1"} 0
nonstop_requests_total{app="shop",class="1xx",release="2"} 0
nonstop_requests_total{app="shop",class="1xx",release="3"} 0
nonstop_requests_total{app="shop",class="2xx",release="1"} 3
nonstop_requests_total{app="shop",class="2xx",release="2"} 0
nonstop_requests_total{app="shop",class="2xx",release="3"} 4
nonstop_requests_total{app="shop",class="3xx",release="1"} 0
nonstop_requests_total{app="shop",class="3xx",release="2"} 0
nonstop_requests_total{app="shop",class="3xx",release="3"} 0
nonstop_requests_total{app="shop",class="4xx",release="1"} 0
nonstop_requests_total{app="shop",class="4xx",release="2"} 0
nonstop_requests_total{app="shop",class="4xx",release="3"} 0
nonstop_requests_total{app="shop",class="5xx",release="1"} 2
nonstop_requests_total{app="shop",class="5xx",release="2"} 0
nonstop_requests_total{app="shop",class="5xx",release="3"} 0
`

func TestCollector_LatencyHistogramIsCumulativeInSeconds(t *testing.T) {
	s := startProxy(t)
	traffic(t, s)
	reg := metrics.NewRegistry(metrics.NewCollector(s.px, nil, metrics.Options{}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var h *dto.Histogram
	for _, f := range families {
		if f.GetName() != "nonstop_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labels(m) == "app=shop,release=1" {
				h = m.GetHistogram()
			}
		}
	}
	if h == nil {
		t.Fatal("no nonstop_request_duration_seconds{app=shop,release=1}")
	}
	if h.GetSampleCount() != 5 {
		t.Errorf("count %d, want the 5 answered requests", h.GetSampleCount())
	}
	if h.GetSampleSum() < 0.06 || h.GetSampleSum() > 10 {
		t.Errorf("sum %gs, want at least the 2×30ms of the slow answers", h.GetSampleSum())
	}
	bs := h.GetBucket()
	if len(bs) != len(proxy.LatencyBuckets) {
		t.Fatalf("%d buckets, want one per bound (%d)", len(bs), len(proxy.LatencyBuckets))
	}
	var prev uint64
	for i, b := range bs {
		if b.GetUpperBound() != proxy.LatencyBuckets[i].Seconds() {
			t.Errorf("bucket %d bound %g, want %g", i, b.GetUpperBound(), proxy.LatencyBuckets[i].Seconds())
		}
		if b.GetCumulativeCount() < prev {
			t.Errorf("bucket le=%g: %d after %d: not cumulative", b.GetUpperBound(), b.GetCumulativeCount(), prev)
		}
		prev = b.GetCumulativeCount()
		if b.GetUpperBound() < 0.03 && b.GetCumulativeCount() > 3 {
			t.Errorf("le=%g counts %d, but 2 of the 5 took over 30ms", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
	if prev != 5 {
		t.Errorf("last bucket (le=30) counts %d, want all 5", prev)
	}
}

// value returns the value of the counter or gauge name{labels} in reg.
func value(t *testing.T, reg prometheus.Gatherer, name, labelText string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labels(m) == labelText {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{%s}", name, labelText)
	return 0
}

func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

func TestHandler_ServesTheTextFormatWithGoAndProcessMetrics(t *testing.T) {
	s := startProxy(t)
	traffic(t, s)
	srv := httptest.NewServer(metrics.Handler(metrics.NewRegistry(metrics.NewCollector(s.px, testStore(t), metrics.Options{})), nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, line := range []string{
		`nonstop_requests_total{app="shop",class="2xx",release="3"} 4`,
		`nonstop_requests_total{app="shop",class="5xx",release="1"} 2`,
		`nonstop_connection_errors_total{app="shop",release="3"} 0`,
		`nonstop_request_duration_seconds_bucket{app="shop",release="1",le="+Inf"} 5`,
		`nonstop_request_duration_seconds_count{app="shop",release="3"} 4`,
		`nonstop_apps 2`,
		`nonstop_instances{app="shop",state="serving"} 1`,
		`nonstop_proxy_up 1`,
		`go_goroutines `,
		`process_start_time_seconds `,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("scrape lacks %q", line)
		}
	}
}

// stuckProxy is a proxy whose measurements never come, or fail.
type stuckProxy struct {
	proxy.Controller
	err error
}

func (p stuckProxy) Metrics(ctx context.Context, app string) ([]proxy.ReleaseMetrics, error) {
	if p.err != nil {
		return nil, p.err
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCollector_ProxyDownOrSlowReadsAsProxyUpZeroWithinTheTimeout(t *testing.T) {
	st := testStore(t)
	for name, px := range map[string]proxy.Controller{
		"slow":           stuckProxy{},
		"down":           stuckProxy{err: errors.New("connection refused")},
		"no such socket": daemon.NewClient(t.TempDir() + "/none.sock"),
	} {
		c := metrics.NewCollector(px, st, metrics.Options{Timeout: 50 * time.Millisecond})
		start := time.Now()
		err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP nonstop_proxy_up Whether the proxy answered this scrape (1) or not (0: its measurements are missing from the scrape).
# TYPE nonstop_proxy_up gauge
nonstop_proxy_up 0
# HELP nonstop_apps Apps in the store.
# TYPE nonstop_apps gauge
nonstop_apps 2
`), "nonstop_proxy_up", "nonstop_apps", "nonstop_requests_total")
		if err != nil {
			t.Errorf("%s proxy: %v", name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s proxy: scrape took %s with a 50ms timeout", name, d)
		}
	}
}
