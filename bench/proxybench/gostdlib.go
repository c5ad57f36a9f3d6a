package main

import (
	"context"
	"flag"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// goStdlibPeer is net/http's own httputil.ReverseProxy with a pooled copy
// buffer and a large idle pool, run by this binary (`proxybench
// go-proxy`): what a Go proxy gets from the standard library before it
// adds anything (caddy and kamal-proxy are built on it). It separates
// what nonstop's proxy adds from what net/http costs.
type goStdlibPeer struct {
	env peerEnv
	p   *proc
}

func (g *goStdlibPeer) start(ctx context.Context, backend string) (string, error) {
	listen, err := freeAddr()
	if err != nil {
		return "", err
	}
	g.p, err = g.env.ps.start("go-stdlib", cpusEnv(g.env.cpus), nil, g.env.self, "go-proxy", "-listen", listen, "-backend", backend)
	if err != nil {
		return "", err
	}
	return listen, waitHTTP(ctx, g.p, listen, benchHost)
}

func (g *goStdlibPeer) switchTo(context.Context, string, string) error {
	return errNoSwitch
}

func (g *goStdlibPeer) stop() {
	if g.p != nil {
		g.p.stop(5 * time.Second)
	}
}

// runGoProxy is `proxybench go-proxy -listen ADDR -backend ADDR`.
func runGoProxy(args []string) error {
	fs := flag.NewFlagSet("go-proxy", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	backend := fs.String("backend", "", "backend address")
	_ = fs.Parse(args)
	target := &url.URL{Scheme: "http", Host: *backend}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:  &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second},
		BufferPool: &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}},
	}
	srv := &http.Server{Addr: *listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte  { return *b.pool.Get().(*[]byte) }
func (b *bufferPool) Put(p []byte) { b.pool.Put(&p) }
