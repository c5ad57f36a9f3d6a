package proxy

import (
	"context"
	"testing"
	"time"
)

func TestHealthLoop_EjectsAFailingBackendAndReadmitsIt(t *testing.T) {
	sick := startBackend(t, "sick", nil)
	good := startBackend(t, "good", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"},
		Backends: []Backend{sick.backend(), good.backend()},
		Health:   Health{Path: "/healthz", Interval: 10 * time.Millisecond, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2}})
	addr, c := serveProxy(t, p)

	sick.healthCode.Store(500)
	eventually(t, 5*time.Second, "the sick backend to be ejected", func() bool {
		return !status(t, p, "app", sick.addr).Healthy
	})
	mustContain(t, status(t, p, "app", sick.addr).LastErr, "500")
	before := sick.hits.Load()
	for range 6 {
		if code, body := get(t, c, addr, "app.test", "/"); code != 200 || body != "good" {
			t.Fatalf("while ejected: %d %q", code, body)
		}
	}
	if sick.hits.Load() != before {
		t.Fatal("an ejected backend got requests")
	}

	sick.healthCode.Store(200)
	eventually(t, 5*time.Second, "the sick backend to be re-admitted", func() bool {
		return status(t, p, "app", sick.addr).Healthy
	})
	eventually(t, 5*time.Second, "requests to reach it again", func() bool {
		get(t, c, addr, "app.test", "/")
		return sick.hits.Load() > before
	})
}

func TestHealthLoop_StopsWhenTheBackendLeavesEveryRoute(t *testing.T) {
	b := startBackend(t, "b", nil)
	p := newTestProxy(t, Options{})
	h := Health{Path: "/healthz", Interval: 5 * time.Millisecond}
	setRoute(t, p, Route{App: "one", Hosts: []string{"one.test"}, Backends: []Backend{b.backend()}, Health: h})
	setRoute(t, p, Route{App: "two", Hosts: []string{"two.test"}, Backends: []Backend{b.backend()}, Health: h})
	if n := checkers(p); n != 1 {
		t.Fatalf("%d health loops for one address, want 1", n)
	}
	if err := p.DeleteRoute(context.Background(), "one"); err != nil {
		t.Fatal(err)
	}
	if n := checkers(p); n != 1 {
		t.Fatalf("%d health loops while a route still names it, want 1", n)
	}
	if err := p.DeleteRoute(context.Background(), "two"); err != nil {
		t.Fatal(err)
	}
	if n := checkers(p); n != 0 {
		t.Fatalf("%d health loops after it left every route, want 0", n)
	}
	setRoute(t, p, Route{App: "one", Hosts: []string{"one.test"}, Backends: []Backend{b.backend()}, Health: h})
	p.Close()
	if n := checkers(p); n != 0 {
		t.Fatalf("%d health loops after Close, want 0", n)
	}
	if err := p.SetRoute(context.Background(), Route{App: "x"}); err != ErrClosed {
		t.Fatalf("SetRoute after Close: %v", err)
	}
}

func TestHealthLoop_ReadmitsAfterPassiveEjectionOnlyOnFreshSuccesses(t *testing.T) {
	b := startBackend(t, "b", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{b.backend()},
		Health: Health{Path: "/healthz", Interval: 5 * time.Millisecond, HealthyThreshold: 3}})
	eventually(t, 5*time.Second, "several passing checks", func() bool { return b.healthHits.Load() >= 5 })

	be := p.table.Load().byApp["app"].backends[0]
	before := b.healthHits.Load()
	if !be.eject("dial tcp: connection refused") {
		t.Fatal("eject did not mark the backend unhealthy")
	}
	eventually(t, 5*time.Second, "re-admission", func() bool { return be.healthy.Load() })
	if n := b.healthHits.Load() - before; n < 3 {
		t.Fatalf("re-admitted after %d checks, want at least 3 after the ejection", n)
	}

	unchecked := newBackend("127.0.0.1:2")
	if unchecked.eject("x") || !unchecked.healthy.Load() {
		t.Fatal("a backend with no health loop was ejected: nothing would re-admit it")
	}
}

func checkers(p *Proxy) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.checkers)
}
