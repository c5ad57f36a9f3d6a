package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBackend is a real HTTP server on 127.0.0.1 standing for an instance.
type testBackend struct {
	name string
	srv  *httptest.Server
	addr string
	hits atomic.Int64 // requests other than health checks

	mu   sync.Mutex
	last *http.Request // the last request other than a health check
	// healthCode is what /healthz answers.
	healthCode atomic.Int32
	healthHits atomic.Int64
}

// startBackend starts a backend answering its name to every request; h, if
// not nil, handles requests other than /healthz instead.
func startBackend(t *testing.T, name string, h http.HandlerFunc) *testBackend {
	t.Helper()
	b := &testBackend{name: name}
	b.healthCode.Store(200)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			b.healthHits.Add(1)
			w.WriteHeader(int(b.healthCode.Load()))
			return
		}
		b.hits.Add(1)
		b.mu.Lock()
		b.last = r.Clone(context.Background())
		b.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(name))
	}))
	b.addr = b.srv.Listener.Addr().String()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *testBackend) backend() Backend { return Backend{ID: b.name, Addr: b.addr, Release: 1} }

func (b *testBackend) lastRequest() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// serveFast serves fs on 127.0.0.1 until the test ends, and returns its address.
func serveFast(t *testing.T, fs *FastServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fs.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// newTestProxy returns a Proxy closed at the end of the test.
func newTestProxy(t *testing.T, opts Options) *Proxy {
	t.Helper()
	p := New(opts)
	t.Cleanup(func() { p.Close() })
	return p
}

// serveProxy serves p on 127.0.0.1 as the daemon does (a *Proxy through
// FastServer, another handler with NewServer's settings) and returns its
// address and a client that talks to it.
func serveProxy(t *testing.T, p http.Handler) (addr string, client *http.Client) {
	t.Helper()
	if px, ok := p.(*Proxy); ok {
		addr = serveFast(t, NewFastServer(px, NewServer("", px)))
	} else {
		srv := httptest.NewUnstartedServer(p)
		srv.Config = NewServer("", p)
		srv.Start()
		t.Cleanup(srv.Close)
		addr = srv.Listener.Addr().String()
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return addr, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// do sends method to http://addr/path with Host host and returns the
// status and body.
func do(t *testing.T, c *http.Client, method, addr, host, path string, body io.Reader, hdr http.Header) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s (host %s): %v", method, path, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func get(t *testing.T, c *http.Client, addr, host, path string) (int, string) {
	t.Helper()
	code, body, _ := do(t, c, http.MethodGet, addr, host, path, nil, nil)
	return code, body
}

func setRoute(t *testing.T, c Controller, r Route) {
	t.Helper()
	if err := c.SetRoute(context.Background(), r); err != nil {
		t.Fatalf("SetRoute(%s): %v", r.App, err)
	}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// status returns the proxy's view of addr in app's route.
func status(t *testing.T, c Controller, app, addr string) BackendStatus {
	t.Helper()
	st, err := c.Status(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Addr == addr {
			return s
		}
	}
	t.Fatalf("backend %s not in the status of %s", addr, app)
	return BackendStatus{}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// resetHandler hijacks the connection and resets it, after the backend
// has read the request: the request reached it, no response comes back.
func resetHandler(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// rawServer is a backend written at the socket, for framings net/http
// would not produce: it serves each connection by calling answer until
// answer says the connection is over.
func rawServer(tb testing.TB, answer func(c net.Conn, br *bufio.Reader) (more bool)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for answer(c, br) {
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}
