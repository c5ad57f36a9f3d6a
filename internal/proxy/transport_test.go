package proxy

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func echoBody(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Write(b)
}

func TestRetry_ConnectionRefusedGoesToAnotherBackendAndEjects(t *testing.T) {
	good := startBackend(t, "good", nil)
	dead := closedAddr(t)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{
		App: "app", Hosts: []string{"app.test"},
		Backends: []Backend{{ID: "dead", Addr: dead}, good.backend()},
		// Checks run, but too rarely to be what ejects the dead one.
		Health: Health{Path: "/healthz", Interval: time.Hour, UnhealthyThreshold: 100},
	})
	addr, c := serveProxy(t, p)

	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				req.Host = "app.test"
				resp, err := c.Do(req)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if err == nil {
					drainClose(resp)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	if good.hits.Load() != 40 {
		t.Fatalf("good backend got %d requests, want 40", good.hits.Load())
	}
	st := status(t, p, "app", dead)
	if st.Healthy || st.Failures == 0 || !strings.Contains(st.LastErr, "refused") {
		t.Fatalf("dead backend status %+v: want ejected, with its failure", st)
	}
}

func TestRetry_BodyIsReplayedWhenConnectFails(t *testing.T) {
	good := startBackend(t, "good", echoBody)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"},
		Backends: []Backend{{ID: "dead", Addr: closedAddr(t)}, good.backend()}})
	addr, c := serveProxy(t, p)
	for i := range 4 { // the balancer alternates: half start on the dead one
		payload := strings.Repeat("x", 100_000) + string(rune('a'+i))
		code, body, _ := do(t, c, http.MethodPost, addr, "app.test", "/", io.NopCloser(strings.NewReader(payload)), nil)
		if code != 200 || body != payload {
			t.Fatalf("POST %d: status %d, body of %d bytes, want 200 and the payload back", i, code, len(body))
		}
	}
	if st := status(t, p, "app", good.addr); st.Requests != 4 {
		t.Fatalf("good backend requests %d, want 4", st.Requests)
	}
}

func TestRetry_POSTIsNotRetriedOnceItReachedABackend(t *testing.T) {
	reset := startBackend(t, "reset", resetHandler)
	good := startBackend(t, "good", echoBody)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{reset.backend(), good.backend()}})
	addr, c := serveProxy(t, p)

	var ok, bad int64
	for range 6 {
		code, body, _ := do(t, c, http.MethodPost, addr, "app.test", "/", strings.NewReader("order"), nil)
		switch code {
		case 200:
			ok++
		case 502:
			bad++
			mustContain(t, body, "app app: the instance did not answer (")
		default:
			t.Fatalf("status %d", code)
		}
	}
	if bad == 0 || bad != reset.hits.Load() || ok != good.hits.Load() {
		t.Fatalf("502s %d, reset hits %d, 200s %d, good hits %d: want every reset POST answered 502, none retried",
			bad, reset.hits.Load(), ok, good.hits.Load())
	}
}

func TestRetry_GETAndIdempotentPOSTAreRetriedAfterAReset(t *testing.T) {
	reset := startBackend(t, "reset", resetHandler)
	good := startBackend(t, "good", echoBody)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{reset.backend(), good.backend()}})
	addr, c := serveProxy(t, p)

	for range 4 {
		if code, _ := get(t, c, addr, "app.test", "/"); code != 200 {
			t.Fatalf("GET: status %d, want 200", code)
		}
	}
	hdr := http.Header{"Idempotency-Key": {"k1"}}
	for range 2 {
		// No body: a body streamed to the reset backend is spent.
		if code, _, _ := do(t, c, http.MethodPost, addr, "app.test", "/", nil, hdr); code != 200 {
			t.Fatalf("POST with Idempotency-Key: status %d, want 200", code)
		}
	}
	if reset.hits.Load() == 0 {
		t.Fatal("the reset backend was never tried")
	}
	if good.hits.Load() != 6 {
		t.Fatalf("good hits %d, want 6", good.hits.Load())
	}
}

func TestRetry_AllBackendsDownGets502(t *testing.T) {
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"},
		Backends: []Backend{{Addr: closedAddr(t)}, {Addr: closedAddr(t)}}})
	addr, c := serveProxy(t, p)
	code, body := get(t, c, addr, "app.test", "/")
	if code != 502 {
		t.Fatalf("status %d, want 502", code)
	}
	mustContain(t, body, "app app: the instance did not answer (connection refused)")
}

func TestInFlight_CountsUntilTheResponseBodyIsClosed(t *testing.T) {
	release := make(chan struct{})
	stream := startBackend(t, "stream", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{stream.backend()}})
	addr, c := serveProxy(t, p)

	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+"/", nil)
	req.Host = "app.test"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if n := status(t, p, "app", stream.addr).InFlight; n != 1 {
		t.Fatalf("in flight while streaming = %d, want 1", n)
	}
	close(release)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	eventually(t, 5*time.Second, "in flight back to 0", func() bool {
		return status(t, p, "app", stream.addr).InFlight == 0
	})
}
