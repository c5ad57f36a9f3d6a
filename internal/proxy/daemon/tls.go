package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/proxy/certs"
)

// httpsFront is the daemon's HTTPS side: the same Proxy behind TLS with
// HTTP/2 and the same server settings as the plain-HTTP listener, plus
// what that listener must answer for it (ACME http-01 challenges,
// redirects to HTTPS). Certificates come from package certs.
type httpsFront struct {
	srv *http.Server
	ln  net.Listener
	// http is the plain-HTTP listener's handler when it must answer
	// challenges or redirect; nil when the Proxy alone serves it.
	http     http.Handler
	certs    *certs.Manager
	redirect bool
}

// newHTTPSFront listens for HTTPS (or takes cfg.HTTPSListener, which it
// closes on error) and prepares its server like plain, the plain-HTTP
// listener's. It returns nil when HTTPS is off.
func newHTTPSFront(cfg Config, p *proxy.Proxy, plain *http.Server) (*httpsFront, error) {
	if cfg.HTTPSAddr == "" && cfg.HTTPSListener == nil {
		if cfg.RedirectHTTPS {
			return nil, errors.New("--redirect-https needs --https")
		}
		return nil, nil
	}
	fail := func(err error) (*httpsFront, error) {
		if cfg.HTTPSListener != nil {
			cfg.HTTPSListener.Close()
		}
		return nil, err
	}
	tc := cfg.TLS
	if tc.Logger == nil {
		tc.Logger = cfg.Logger
	}
	m, err := certs.New(tc, p.Serves)
	if err != nil {
		return fail(fmt.Errorf("https: %w", err))
	}
	ln := cfg.HTTPSListener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.HTTPSAddr); err != nil {
			return nil, fmt.Errorf("listen for https traffic: %w", err)
		}
	}
	srv := proxy.NewServer(cfg.HTTPSAddr, p)
	srv.TLSConfig = m.TLSConfig()
	srv.ErrorLog, srv.BaseContext = plain.ErrorLog, plain.BaseContext
	f := &httpsFront{srv: srv, ln: ln, certs: m, redirect: cfg.RedirectHTTPS}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if h := m.HTTPHandler(p, cfg.RedirectHTTPS, port); h != http.Handler(p) {
		f.http = h
	}
	return f, nil
}

// httpServe returns how the plain-HTTP listener is served: by the fast
// path, which hands the requests that ACME challenges or redirects concern
// to plain (net/http), whose handler then answers them.
func (f *httpsFront) httpServe(fast *proxy.FastServer, plain *http.Server) func(net.Listener) error {
	if f == nil || f.http == nil {
		return fast.Serve
	}
	plain.Handler = f.http
	fast.Divert = f.divert
	return fast.Serve
}

// divert reports whether a plain-HTTP request is for the HTTPS side: an
// ACME challenge, or a host redirected to HTTPS.
func (f *httpsFront) divert(host string, target []byte) bool {
	return bytes.HasPrefix(target, []byte("/.well-known/acme-challenge/")) || f.redirect && f.certs.HasCert(host)
}

// serve serves HTTPS until the server is shut down.
func (f *httpsFront) serve() error {
	if err := f.srv.ServeTLS(f.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve https: %w", err)
	}
	return nil
}

// shutdown stops the HTTPS server in the background: it stops accepting
// and lets requests in flight finish, then closes what is left at the end
// of ctx. The channel is closed once it has stopped (at once on a nil
// front).
func (f *httpsFront) shutdown(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if f == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		if err := f.srv.Shutdown(ctx); err != nil {
			f.srv.Close()
		}
	}()
	return done
}
