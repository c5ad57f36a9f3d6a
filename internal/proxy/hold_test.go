package proxy

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// startWaiters starts n waiters on g one after another (each queued before
// the next starts) and returns their results, in arrival order, once all
// returned.
func startWaiters(t *testing.T, g *holdGate, n int) func() []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = g.wait()
		}()
		eventually(t, 2*time.Second, "waiter queued", func() bool { return g.waiting() == i+1 })
	}
	return func() []error { wg.Wait(); return errs }
}

func TestHoldGate_LiftReleasesEveryWaiterAndLetsLaterOnesStraightThrough(t *testing.T) {
	g := newHoldGate("shop", Hold{MaxWait: 10 * time.Second, MaxQueue: 100})
	results := startWaiters(t, g, 20)
	time.Sleep(50 * time.Millisecond)
	if n := g.waiting(); n != 20 {
		t.Fatalf("%d waiting before the lift, want 20", n)
	}
	g.lift()
	for i, err := range results() {
		if err != nil {
			t.Errorf("waiter %d: %v, want released", i, err)
		}
	}
	if n := g.waiting(); n != 0 {
		t.Errorf("%d still waiting after the lift", n)
	}
	start := time.Now()
	if err := g.wait(); err != nil || time.Since(start) > 100*time.Millisecond {
		t.Errorf("wait on a lifted gate: %v after %s, want nil at once", err, time.Since(start))
	}
}

func TestHoldGate_FullQueueRefusesAtOnceNamingTheApp(t *testing.T) {
	g := newHoldGate("shop", Hold{MaxWait: 10 * time.Second, MaxQueue: 2})
	results := startWaiters(t, g, 2)
	start := time.Now()
	err := g.wait()
	if err == nil || !strings.Contains(err.Error(), "shop") || time.Since(start) > time.Second {
		t.Errorf("third waiter on a queue of 2: %v after %s, want an error naming the app at once", err, time.Since(start))
	}
	g.lift()
	for i, err := range results() {
		if err != nil {
			t.Errorf("queued waiter %d: %v, want released", i, err)
		}
	}
}

func TestHoldGate_WaitPastMaxWaitFailsAndLeavesTheQueue(t *testing.T) {
	g := newHoldGate("shop", Hold{MaxWait: 150 * time.Millisecond, MaxQueue: 10})
	start := time.Now()
	err := g.wait()
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "shop") {
		t.Fatalf("wait past MaxWait: %v, want an error naming the app", err)
	}
	if took < 150*time.Millisecond {
		t.Errorf("gave up after %s, before MaxWait", took)
	}
	if n := g.waiting(); n != 0 {
		t.Errorf("%d still queued after giving up", n)
	}
}

func TestHoldGate_ZeroBoundsTakeTheDefaults(t *testing.T) {
	g := newHoldGate("shop", Hold{})
	if g.hold != DefaultHold {
		t.Errorf("bounds %+v, want %+v", g.hold, DefaultHold)
	}
}

// Through the served proxy: requests to a held route wait (the backend
// sees none), go to the route in force when the hold is lifted, and past
// MaxWait get 503 with Retry-After.
func TestProxy_HeldRequestsWaitThenGoToTheRouteThatLiftsTheHold(t *testing.T) {
	p := newTestProxy(t, Options{})
	addr, c := serveProxy(t, p)
	old, next := startBackend(t, "old", nil), startBackend(t, "new", nil)
	held := Route{App: "shop", Hosts: []string{"shop.test"}, Backends: []Backend{old.backend()}, Hold: &Hold{MaxWait: 10 * time.Second, MaxQueue: 100}}
	setRoute(t, p, held)

	const n = 10
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, n)
	for range n {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
			req.Host = "shop.test"
			resp, err := c.Do(req)
			if err != nil {
				answers <- answer{0, err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			answers <- answer{resp.StatusCode, string(b)}
		}()
	}
	eventually(t, 5*time.Second, "every request held", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		g := p.holds["shop"]
		return g != nil && g.waiting() == n
	})
	// A new route that still holds (a rollout) keeps the requests waiting.
	held.Backends = []Backend{next.backend()}
	setRoute(t, p, held)
	time.Sleep(100 * time.Millisecond)
	if len(answers) != 0 || old.hits.Load() != 0 || next.hits.Load() != 0 {
		t.Fatalf("held requests answered: %d answers, backends saw %d and %d", len(answers), old.hits.Load(), next.hits.Load())
	}

	lifted := held
	lifted.Hold = nil
	setRoute(t, p, lifted)
	for range n {
		select {
		case a := <-answers:
			if a.code != http.StatusOK || a.body != "new" {
				t.Errorf("released request: %d %q, want 200 from the backend of the route that lifted the hold", a.code, a.body)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("held requests not released 5s after the hold was lifted")
		}
	}
	if old.hits.Load() != 0 {
		t.Errorf("the backend replaced during the hold got %d requests", old.hits.Load())
	}

	short := lifted
	short.Hold = &Hold{MaxWait: 200 * time.Millisecond}
	setRoute(t, p, short)
	start := time.Now()
	code, body, h := do(t, c, http.MethodGet, addr, "shop.test", "/", nil, nil)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "shop") {
		t.Errorf("request held past MaxWait: %d %q Retry-After %q; want 503 naming the app with Retry-After", code, body, h.Get("Retry-After"))
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("503 after %s, before MaxWait", took)
	}
}

// Requests that net/http serves (here HTTP/1.0, handed off by the fast
// path) are held like the others.
func TestHold_AlsoHoldsRequestsServedByNetHTTP(t *testing.T) {
	be := startBackend(t, "b", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{be.backend()}, Hold: &Hold{MaxWait: 10 * time.Second}})
	addr, _ := serveProxy(t, p)
	got := make(chan string, 1)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.0\r\nHost: app.test\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c) // HTTP/1.0: the answer ends with the connection
		got <- string(b)
	}()
	time.Sleep(700 * time.Millisecond)
	if be.hits.Load() != 0 {
		t.Fatal("an HTTP/1.0 request went through a hold")
	}
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{be.backend()}})
	if out := <-got; !strings.Contains(out, "200 OK") {
		t.Fatalf("after the hold: %s", out)
	}
}
