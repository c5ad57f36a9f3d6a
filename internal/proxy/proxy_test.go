package proxy

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRouting_ByHostIgnoringCaseAndPort(t *testing.T) {
	a := startBackend(t, "a", nil)
	b := startBackend(t, "b", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "a", Hosts: []string{"a.test"}, Backends: []Backend{a.backend()}})
	setRoute(t, p, Route{App: "b", Hosts: []string{"B.test", "www.b.test"}, Backends: []Backend{b.backend()}})
	addr, c := serveProxy(t, p)

	for host, want := range map[string]string{"a.test": "a", "A.Test:8080": "a", "b.test": "b", "www.b.test.": "b"} {
		if code, body := get(t, c, addr, host, "/"); code != 200 || body != want {
			t.Errorf("host %s: %d %q, want 200 %q", host, code, body, want)
		}
	}
}

func TestRouting_UnknownHostGets404NamingTheHost(t *testing.T) {
	p := newTestProxy(t, Options{})
	addr, c := serveProxy(t, p)
	code, body := get(t, c, addr, "nope.test:8080", "/")
	if code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", code)
	}
	mustContain(t, body, "no app is served at host nope.test")
}

func TestRouting_DeletedRouteGets404(t *testing.T) {
	a := startBackend(t, "a", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "a", Hosts: []string{"a.test"}, Backends: []Backend{a.backend()}})
	addr, c := serveProxy(t, p)
	if code, _ := get(t, c, addr, "a.test", "/"); code != 200 {
		t.Fatalf("before delete: %d", code)
	}
	if err := p.DeleteRoute(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, c, addr, "a.test", "/"); code != 404 {
		t.Fatalf("after delete: %d, want 404", code)
	}
	if err := p.DeleteRoute(context.Background(), "a"); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("second delete: %v, want ErrUnknownApp", err)
	}
}

func TestRouting_NoHealthyBackendGets503NamingTheApp(t *testing.T) {
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "shop", Hosts: []string{"shop.test"}})
	addr, c := serveProxy(t, p)
	code, body, hdr := do(t, c, http.MethodGet, addr, "shop.test", "/", nil, nil)
	if code != 503 || hdr.Get("Retry-After") != "1" {
		t.Fatalf("status %d Retry-After %q, want 503 and 1", code, hdr.Get("Retry-After"))
	}
	mustContain(t, body, "app shop has no healthy instance")
}

func TestRouting_MaintenancePage(t *testing.T) {
	a := startBackend(t, "a", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "shop", Hosts: []string{"shop.test"}, Backends: []Backend{a.backend()}, Maintenance: true})
	addr, c := serveProxy(t, p)
	code, body := get(t, c, addr, "shop.test", "/")
	if code != 503 {
		t.Fatalf("status %d, want 503", code)
	}
	mustContain(t, body, "app shop is down for maintenance")
	if a.hits.Load() != 0 {
		t.Fatal("a request reached the backend during maintenance")
	}
}

func TestSetRoute_RejectsInvalidRoutes(t *testing.T) {
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "a", Hosts: []string{"a.test"}})
	for name, r := range map[string]Route{
		"no app":             {Hosts: []string{"x.test"}},
		"host of another":    {App: "b", Hosts: []string{"A.TEST"}},
		"address":            {App: "b", Backends: []Backend{{Addr: "localhost"}}},
		"duplicated backend": {App: "b", Backends: []Backend{{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:1"}}},
	} {
		if err := p.SetRoute(context.Background(), r); !errors.Is(err, ErrInvalidRoute) {
			t.Errorf("%s: err = %v, want ErrInvalidRoute", name, err)
		}
	}
	// The app itself may keep its host.
	setRoute(t, p, Route{App: "a", Hosts: []string{"a.test", "www.a.test"}})
}

func TestRoutes_ReturnsCopiesInAppOrder(t *testing.T) {
	p := newTestProxy(t, Options{})
	hosts := []string{"b.test"}
	setRoute(t, p, Route{App: "b", Hosts: hosts})
	setRoute(t, p, Route{App: "a", Hosts: []string{"a.test"}})
	hosts[0] = "changed.test" // the caller's slice is not the proxy's
	routes, err := p.Routes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{{App: "a", Hosts: []string{"a.test"}}, {App: "b", Hosts: []string{"b.test"}}}
	for i := range want {
		want[i].Backends = []Backend{}
	}
	for i := range routes {
		if routes[i].Backends == nil {
			routes[i].Backends = []Backend{}
		}
	}
	if !reflect.DeepEqual(routes, want) {
		t.Fatalf("routes = %+v, want %+v", routes, want)
	}
}

func TestBackendState_SurvivesRouteSwaps(t *testing.T) {
	a := startBackend(t, "a", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "a", Hosts: []string{"a.test"}, Backends: []Backend{a.backend()}})
	addr, c := serveProxy(t, p)
	for range 3 {
		get(t, c, addr, "a.test", "/")
	}
	setRoute(t, p, Route{App: "a", Hosts: []string{"a.test", "new.test"}, Backends: []Backend{a.backend()}})
	if got := status(t, p, "a", a.addr).Requests; got != 3 {
		t.Fatalf("requests after swap = %d, want 3", got)
	}
}

// TestSwap_UnderLoadHasZeroFailures moves an app from backend set A to set
// B while 8 clients hit it, drains A, stops A, and counts every response.
func TestSwap_UnderLoadHasZeroFailures(t *testing.T) {
	a1, a2 := startBackend(t, "a", nil), startBackend(t, "a", nil)
	b1, b2 := startBackend(t, "b", nil), startBackend(t, "b", nil)
	p := newTestProxy(t, Options{})
	route := Route{App: "app", Hosts: []string{"app.test"}, Health: Health{Path: "/healthz", Interval: 50 * time.Millisecond}}
	route.Backends = []Backend{a1.backend(), a2.backend()}
	setRoute(t, p, route)
	addr, c := serveProxy(t, p)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				req.Host = "app.test"
				resp, err := c.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, resp.Status)
				} else {
					ok.Add(1)
				}
				drainClose(resp)
			}
		}()
	}

	time.Sleep(300 * time.Millisecond)
	route.Backends = []Backend{b1.backend(), b2.backend()}
	setRoute(t, p, route)
	remaining, err := p.Drain(context.Background(), []string{a1.addr, a2.addr}, 5*time.Second)
	if err != nil || remaining != 0 {
		t.Fatalf("drain: remaining %d, err %v", remaining, err)
	}
	aHits := a1.hits.Load() + a2.hits.Load()
	a1.srv.Close()
	a2.srv.Close()
	wg.Wait()

	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	if aHits == 0 || b1.hits.Load() == 0 || b2.hits.Load() == 0 {
		t.Fatalf("hits a=%d b1=%d b2=%d: want every backend used", aHits, b1.hits.Load(), b2.hits.Load())
	}
	if got := a1.hits.Load() + a2.hits.Load(); got != aHits {
		t.Fatalf("set A got %d requests after the swap and the drain", got-aHits)
	}
	t.Logf("%d requests, 0 failed", ok.Load())
}

func drainClose(resp *http.Response) {
	buf := make([]byte, 512)
	for {
		if _, err := resp.Body.Read(buf); err != nil {
			break
		}
	}
	resp.Body.Close()
}
