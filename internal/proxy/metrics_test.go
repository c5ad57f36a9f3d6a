package proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// metricsOf returns the measurements of one release of app.
func metricsOf(t *testing.T, c Controller, app string, release int) ReleaseMetrics {
	t.Helper()
	ms, err := c.Metrics(context.Background(), app)
	if err != nil {
		t.Fatalf("Metrics(%s): %v", app, err)
	}
	for _, m := range ms {
		if m.App != app {
			t.Fatalf("Metrics(%s) returned a release of %s", app, m.App)
		}
		if m.Release == release {
			return m
		}
	}
	t.Fatalf("no measurements of %s v%d in %+v", app, release, ms)
	return ReleaseMetrics{}
}

func sum(ns []int64) (total int64) {
	for _, n := range ns {
		total += n
	}
	return total
}

// measuredTraffic sends known traffic through a served proxy: app "shop"
// gets 10 fast 200s on release 1, then 4 answers on release 2 (2 of them
// 500s after 30ms), then 6 requests over a route with a dead backend of
// release 3 and a live one of release 4; app "blog" gets 2 requests.
func measuredTraffic(t *testing.T, p *Proxy) {
	t.Helper()
	addr, hc := serveProxy(t, p)
	v1 := startBackend(t, "v1", nil)
	v2 := startBackend(t, "v2", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			time.Sleep(30 * time.Millisecond)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Write([]byte("v2"))
	})
	v4 := startBackend(t, "v4", nil)
	blog := startBackend(t, "blog", nil)

	shop := Route{App: "shop", Hosts: []string{"shop.test"}}
	shop.Backends = []Backend{{ID: "v1", Addr: v1.addr, Release: 1}}
	setRoute(t, p, shop)
	for range 10 {
		if code, _ := get(t, hc, addr, "shop.test", "/"); code != http.StatusOK {
			t.Fatalf("release 1 answered %d", code)
		}
	}
	shop.Backends = []Backend{{ID: "v2", Addr: v2.addr, Release: 2}}
	setRoute(t, p, shop)
	for _, path := range []string{"/", "/fail", "/", "/fail"} {
		get(t, hc, addr, "shop.test", path)
	}
	shop.Backends = []Backend{{ID: "dead", Addr: closedAddr(t), Release: 3}, {ID: "v4", Addr: v4.addr, Release: 4}}
	setRoute(t, p, shop)
	for range 6 {
		if code, body := get(t, hc, addr, "shop.test", "/"); code != http.StatusOK || body != "v4" {
			t.Fatalf("with a dead backend: %d %q, want the request retried on v4", code, body)
		}
	}
	setRoute(t, p, Route{App: "blog", Hosts: []string{"blog.test"}, Backends: []Backend{{ID: "blog", Addr: blog.addr, Release: 7}}})
	get(t, hc, addr, "blog.test", "/")
	get(t, hc, addr, "blog.test", "/")
	waitMeasured(t, p, 10+4+6+2)
}

// waitMeasured waits until the proxy has measured n answered requests: a
// request is measured just after its answer reached the client.
func waitMeasured(t *testing.T, p *Proxy, n int64) {
	t.Helper()
	eventually(t, 5*time.Second, "the requests to be measured", func() bool {
		ms, err := p.Metrics(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, m := range ms {
			got += m.Requests
		}
		return got >= n
	})
}

// checkMeasured checks what c reports of measuredTraffic.
func checkMeasured(t *testing.T, c Controller) {
	t.Helper()
	m1 := metricsOf(t, c, "shop", 1)
	if m1.Requests != 10 || m1.Status[2] != 10 || m1.Status[5] != 0 || m1.ConnErrors != 0 || sum(m1.Buckets) != 10 {
		t.Errorf("release 1: %+v, want 10 requests, all 2xx", m1)
	}
	if len(m1.Buckets) != len(LatencyBuckets)+1 {
		t.Errorf("%d buckets, want %d (the last for +Inf)", len(m1.Buckets), len(LatencyBuckets)+1)
	}
	if q := m1.Quantile(0.5); q <= 0 || q > time.Second {
		t.Errorf("release 1 p50 = %s, want a fast loopback answer", q)
	}

	m2 := metricsOf(t, c, "shop", 2)
	if m2.Requests != 4 || m2.Status[2] != 2 || m2.Status[5] != 2 || m2.ConnErrors != 0 {
		t.Errorf("release 2: %+v, want 4 requests, 2 of them 5xx", m2)
	}
	if q := m2.Quantile(0.99); q < 25*time.Millisecond {
		t.Errorf("release 2 p99 = %s, want at least the 30ms of its slow answers' bucket", q)
	}
	if m2.LatencySum < 60*time.Millisecond {
		t.Errorf("release 2 latency sum %s, want at least 2×30ms", m2.LatencySum)
	}

	dead := metricsOf(t, c, "shop", 3)
	if dead.ConnErrors < 1 || dead.Requests != 0 || sum(dead.Buckets) != 0 {
		t.Errorf("dead release 3: %+v, want connection errors and no answered request", dead)
	}
	live := metricsOf(t, c, "shop", 4)
	if live.Requests != 6 || live.Status[2] != 6 || live.ConnErrors != 0 {
		t.Errorf("release 4: %+v, want all 6 requests answered 2xx after the retries", live)
	}

	if b := metricsOf(t, c, "blog", 7); b.Requests != 2 {
		t.Errorf("blog v7: %+v, want 2 requests", b)
	}
	all, err := c.Metrics(context.Background(), "")
	if err != nil || len(all) != 5 {
		t.Fatalf("Metrics(\"\") = %d releases, %v; want 5", len(all), err)
	}
	for i, want := range []struct {
		app     string
		release int
	}{{"blog", 7}, {"shop", 1}, {"shop", 2}, {"shop", 3}, {"shop", 4}} {
		if all[i].App != want.app || all[i].Release != want.release {
			t.Errorf("Metrics(\"\")[%d] = %s v%d, want %s v%d (by app, then release)", i, all[i].App, all[i].Release, want.app, want.release)
		}
	}
	if none, err := c.Metrics(context.Background(), "nosuchapp"); err != nil || len(none) != 0 {
		t.Errorf("Metrics of an unknown app = %+v, %v; want none and no error", none, err)
	}
}

func TestMetrics_CountsRequestsStatusClassesAndConnErrorsPerRelease(t *testing.T) {
	p := newTestProxy(t, Options{})
	measuredTraffic(t, p)
	checkMeasured(t, p)
}

func TestQuantile_IsTheUpperBoundOfTheBucketItFallsIn(t *testing.T) {
	m := ReleaseMetrics{Buckets: make([]int64, len(LatencyBuckets)+1)}
	if q := m.Quantile(0.99); q != 0 {
		t.Errorf("no requests: p99 = %s, want 0", q)
	}
	m.Buckets[1] = 90 // ≤ 1ms
	m.Buckets[6] = 9  // ≤ 50ms
	m.Buckets[len(LatencyBuckets)] = 1
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, time.Millisecond}, {0.9, time.Millisecond}, {0.95, 50 * time.Millisecond}, {0.99, 50 * time.Millisecond}, {1, LatencyBuckets[len(LatencyBuckets)-1]}} {
		if got := m.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %s, want %s", c.q, got, c.want)
		}
	}
}

// Requests that net/http serves (HTTP/1.0 here, HTTPS and HTTP/2 in
// production) are measured like the fast path's.
func TestMetrics_CountRequestsServedByNetHTTPToo(t *testing.T) {
	be := startBackend(t, "b", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{{ID: "b", Addr: be.addr, Release: 4}}})
	addr, _ := serveProxy(t, p)
	if out := rawExchange(t, addr, "GET / HTTP/1.0\r\nHost: app.test\r\n\r\n"); !strings.Contains(out, "200 OK") {
		t.Fatalf("HTTP/1.0 request: %s", out)
	}
	eventually(t, 5*time.Second, "the HTTP/1.0 request to be measured", func() bool {
		ms, _ := p.Metrics(context.Background(), "app")
		return len(ms) == 1 && ms[0].Release == 4 && ms[0].Requests == 1 && ms[0].Status[2] == 1
	})
}
