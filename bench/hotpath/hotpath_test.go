package hotpath

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
)

const host = "bench.localhost"

// newNonstop returns nonstop's proxy serving host from backend.
func newNonstop(b *testing.B, backend string) *proxy.Proxy {
	p := proxy.New(proxy.Options{})
	b.Cleanup(func() { p.Close() })
	err := p.SetRoute(context.Background(), proxy.Route{
		App: "bench", Hosts: []string{host},
		Backends: []proxy.Backend{{ID: "b1", Addr: backend, Release: 1}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// newStdlib returns net/http's own reverse proxy to backend, with pooled
// copy buffers (like nonstop's): the floor for a Go proxy built on it, as
// caddy and kamal-proxy are.
func newStdlib(b *testing.B, backend string) *httputil.ReverseProxy {
	target := &url.URL{Scheme: "http", Host: backend}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:  tr,
		BufferPool: &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}},
	}
}

type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte  { return *b.pool.Get().(*[]byte) }
func (b *bufferPool) Put(p []byte) { b.pool.Put(&p) }

// BenchmarkHandler is one request through a handler's ServeHTTP, with no
// server or client around it; "transport" is the bare round trip to the
// backend that any proxy makes.
func BenchmarkHandler(b *testing.B) {
	backend := startRawBackend(b)
	b.Run("transport", func(b *testing.B) {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		b.Cleanup(tr.CloseIdleConnections)
		req := httptest.NewRequest(http.MethodGet, "http://"+backend+"/", nil)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := tr.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	for _, h := range []struct {
		name string
		h    http.Handler
	}{
		{"stdlib-reverseproxy", newStdlib(b, backend)},
		{"nonstop", newNonstop(b, backend)},
	} {
		b.Run(h.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "http://"+host+"/", nil)
			w := newDiscardWriter()
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.h.ServeHTTP(w, req)
				if err := w.check(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkServer is one request from a raw keep-alive client through a
// server on loopback: what a proxy process does per request. "hello" is
// net/http's server answering by itself (its floor); "nonstop" is the
// proxy as `nonstop proxy` serves plain HTTP (its FastServer, falling
// back to net/http for unusual requests); "nonstop-nethttp" is the same
// Proxy behind net/http's server, the path the fast one hands off to.
func BenchmarkServer(b *testing.B) {
	backend := startRawBackend(b)
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
		io.WriteString(w, "Hello, world!")
	})
	servers := []struct {
		name  string
		serve func(b *testing.B) string
	}{
		{"hello", func(b *testing.B) string { return serveNetHTTP(b, hello) }},
		{"stdlib-reverseproxy", func(b *testing.B) string { return serveNetHTTP(b, newStdlib(b, backend)) }},
		{"nonstop", func(b *testing.B) string { return serveFast(b, newNonstop(b, backend)) }},
		{"nonstop-nethttp", func(b *testing.B) string { return serveNetHTTP(b, newNonstop(b, backend)) }},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			c := dialRaw(b, s.serve(b), host)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.get(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// serveNetHTTP serves h with nonstop's net/http server settings.
func serveNetHTTP(b *testing.B, h http.Handler) string {
	ln := listen(b)
	srv := proxy.NewServer("", h)
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// serveFast serves p as the daemon does on plain HTTP.
func serveFast(b *testing.B, p *proxy.Proxy) string {
	ln := listen(b)
	fast := proxy.NewFastServer(p, proxy.NewServer("", p))
	go fast.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		fast.Shutdown(ctx)
	})
	return ln.Addr().String()
}

func listen(b *testing.B) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}
