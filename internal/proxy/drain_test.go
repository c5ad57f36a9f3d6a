package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// slowBackend answers "slow" once release is closed (or the request ends).
func slowBackend(t *testing.T, release <-chan struct{}) *testBackend {
	return startBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		w.Write([]byte("slow"))
	})
}

// startSlowRequest sends one request to the slow backend through the proxy
// and waits until it is in flight; the result comes on the channel.
func startSlowRequest(t *testing.T, p *Proxy, slow *testBackend) <-chan string {
	t.Helper()
	addr, c := serveProxy(t, p)
	done := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		req.Host = "app.test"
		resp, err := c.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		buf := make([]byte, 16)
		n, _ := resp.Body.Read(buf)
		done <- resp.Status + " " + string(buf[:n])
	}()
	eventually(t, 5*time.Second, "the slow request to be in flight", func() bool {
		return status(t, p, "app", slow.addr).InFlight == 1
	})
	return done
}

func TestDrain_WaitsForTheSlowRequestWhichSucceeds(t *testing.T) {
	release := make(chan struct{})
	slow := slowBackend(t, release)
	fast := startBackend(t, "fast", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{slow.backend()}})
	result := startSlowRequest(t, p, slow)

	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{fast.backend()}})
	type drained struct {
		n   int64
		err error
	}
	drainDone := make(chan drained, 1)
	go func() {
		n, err := p.Drain(context.Background(), []string{slow.addr}, 10*time.Second)
		drainDone <- drained{n, err}
	}()
	select {
	case d := <-drainDone:
		t.Fatalf("drain returned %+v while the request was in flight", d)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case d := <-drainDone:
		if d.n != 0 || d.err != nil {
			t.Fatalf("drain = %+v, want 0 remaining", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("drain did not return after the request finished")
	}
	if got := <-result; got != "200 OK slow" {
		t.Fatalf("slow request: %q, want 200 OK slow", got)
	}
}

func TestDrain_AtTheTimeoutClosesWhatIsLeft_ARequestIsRetriedOnTheNewRoute(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := slowBackend(t, release)
	fresh := startBackend(t, "fresh", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{slow.backend()}})
	result := startSlowRequest(t, p, slow)
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{fresh.backend()}})

	n, err := p.Drain(context.Background(), []string{slow.addr, "127.0.0.1:1"}, 50*time.Millisecond)
	if err != nil || n != 1 {
		t.Fatalf("drain = %d, %v; want 1 remaining", n, err)
	}
	// Cut at the deadline, the GET had no answer yet: it is idempotent, so
	// it goes again, to the backend the route has now.
	select {
	case got := <-result:
		if got != "200 OK fresh" {
			t.Fatalf("the request in flight at the drain deadline: %q, want it answered by the new backend", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request in flight at the drain deadline goes on")
	}
}

func TestDrain_AtTheTimeoutAStreamIsClosedSoItsClientReconnects(t *testing.T) {
	stream := startBackend(t, "stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: hello\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	fresh := startBackend(t, "fresh", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{stream.backend()}})
	addr, c := serveProxy(t, p)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/events", nil)
	req.Host = "app.test"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, _ := br.ReadString('\n'); line != "data: hello\n" {
		t.Fatalf("first event: %q", line)
	}
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{fresh.backend()}})
	if n, _ := p.Drain(context.Background(), []string{stream.addr}, 100*time.Millisecond); n != 1 {
		t.Fatalf("drain left %d streams, want 1", n)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.ReadAll(br); ended <- err }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream goes on after the drain deadline")
	}
	if code, body := get(t, c, addr, "app.test", "/events"); code != 200 || body != "fresh" {
		t.Fatalf("reconnect: %d %q", code, body)
	}
}

func TestDrain_EndsWithItsContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := slowBackend(t, release)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{slow.backend()}})
	result := startSlowRequest(t, p, slow)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Drain(ctx, []string{slow.addr}, time.Minute); err != context.Canceled {
		t.Fatalf("drain with a cancelled context: %v", err)
	}
	release <- struct{}{}
	if got := <-result; got != "200 OK slow" {
		t.Fatalf("a drain that ended with its context cut a request: %q", got)
	}
}

func TestDrain_UnknownAddressesAreDrained(t *testing.T) {
	p := newTestProxy(t, Options{})
	if n, err := p.Drain(context.Background(), []string{"127.0.0.1:9"}, time.Minute); n != 0 || err != nil {
		t.Fatalf("drain = %d, %v", n, err)
	}
}
