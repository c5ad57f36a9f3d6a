package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
)

// slowServer is a real HTTP server on 127.0.0.1 standing for an instance.
type slowServer struct {
	addr string
}

func (s *slowServer) backend() proxy.Backend {
	return proxy.Backend{ID: "slow", Addr: s.addr, Release: 1}
}

// slowBackend starts one that answers "slow" once release is closed (or
// after 10 s).
func slowBackend(t *testing.T, release <-chan struct{}) *slowServer {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		w.Write([]byte("slow"))
	}))
	t.Cleanup(srv.Close)
	return &slowServer{addr: srv.Listener.Addr().String()}
}

func newTestProxy(t *testing.T, opts proxy.Options) *proxy.Proxy {
	t.Helper()
	p := proxy.New(opts)
	t.Cleanup(func() { p.Close() })
	return p
}

func setRoute(t *testing.T, c proxy.Controller, r proxy.Route) {
	t.Helper()
	if err := c.SetRoute(context.Background(), r); err != nil {
		t.Fatalf("SetRoute(%s): %v", r.App, err)
	}
}

// startSlowRequest sends one request to app.test through p, served as the
// daemon serves it, and waits until it is in flight at the slow backend;
// the result comes on the channel.
func startSlowRequest(t *testing.T, p *proxy.Proxy, slow *slowServer) <-chan string {
	t.Helper()
	done := startSlowRequestDone(t, p)
	eventually(t, 5*time.Second, "the slow request to be in flight", func() bool {
		st, err := p.Status(context.Background(), "app")
		return err == nil && len(st) == 1 && st[0].InFlight == 1
	})
	return done
}

// startSlowRequestDone sends one request to app.test through p, served as
// the daemon serves it; the result comes on the channel.
func startSlowRequestDone(t *testing.T, p *proxy.Proxy) <-chan string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := proxy.NewFastServer(p, proxy.NewServer("", p))
	go fs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fs.Shutdown(ctx)
	})
	done := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
		req.Host = "app.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- resp.Status + " " + string(b)
	}()
	return done
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

// get sends a GET to http://addr/path with Host host.
func get(t *testing.T, c *http.Client, addr, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s (host %s): %v", path, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
