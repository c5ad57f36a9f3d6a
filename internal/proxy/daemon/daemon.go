// Package daemon runs nonstop's data plane as its own process (`nonstop
// proxy`): the apps' listeners (plain HTTP through the fast path, HTTPS
// and HTTP/2 with certificates), the state file read back at start, and
// the control socket over which the control plane sets routes, drains and
// reads measurements (ControlHandler serves it, Client calls it).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/proxy/certs"
)

// Config configures Run, the data plane as its own process
// (`nonstop proxy`).
type Config struct {
	HTTPAddr   string // apps' traffic, e.g. ":8080"
	SocketPath string // control socket, e.g. DATA/proxy.sock
	StateFile  string // saved routes, e.g. DATA/proxy-state.json
	Logger     *slog.Logger

	// HTTPListener, if set, is served instead of listening on HTTPAddr:
	// an inherited socket (for an upgrade without dropping connections)
	// or a test's. Run closes it.
	HTTPListener net.Listener
	// ShutdownTimeout bounds the graceful stop; default 30s.
	ShutdownTimeout time.Duration

	// HTTPSAddr, when set (or HTTPSListener), serves the apps over HTTPS
	// too, with HTTP/2 and certificates as TLS says (see tls.go).
	HTTPSAddr     string
	HTTPSListener net.Listener // like HTTPListener; Run closes it
	TLS           certs.Config
	// RedirectHTTPS answers plain-HTTP requests for hosts that have a
	// certificate with a 308 to HTTPS; ACME challenges are still answered.
	RedirectHTTPS bool
	// AccessLog, when set, is the file that gets one JSON line per request
	// (rotated at 100 MiB to AccessLog.1).
	AccessLog string
	// Reserved are more of nonstop's own listeners (the API's) that no
	// route may send traffic to; the proxy's own are reserved anyway.
	Reserved []string
}

// Run runs the proxy until ctx is done or a client calls
// POST /shutdown on the control socket. It first loads the state file, so
// a restarted proxy serves the last routes at once. It then stops
// gracefully: it stops accepting, lets requests in flight (and upgraded
// connections) finish within ShutdownTimeout, closes the control socket
// (removing it) and returns. It returns nil after a requested stop.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	for _, f := range []string{cfg.StateFile, cfg.SocketPath, cfg.AccessLog} {
		if f != "" {
			if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
				return fmt.Errorf("create the proxy's folder: %w", err)
			}
		}
	}
	opts := proxy.Options{Logger: log, StateFile: cfg.StateFile,
		Reserved: append([]string{cfg.HTTPAddr, cfg.HTTPSAddr}, cfg.Reserved...)}
	if cfg.AccessLog != "" {
		f, err := proxy.OpenRotatingFile(cfg.AccessLog, 100<<20)
		if err != nil {
			return fmt.Errorf("open access log: %w", err)
		}
		logCtx, stopLog := context.WithCancel(context.Background())
		opts.AccessLog = proxy.NewAccessLog(logCtx, f)
		defer func() {
			stopLog()
			opts.AccessLog.Wait()
			f.Close()
		}()
	}
	p := proxy.New(opts)
	defer p.Close()
	if err := p.Load(); err != nil {
		if cfg.HTTPListener != nil {
			cfg.HTTPListener.Close()
		}
		if cfg.HTTPSListener != nil {
			cfg.HTTPSListener.Close()
		}
		return err
	}

	ln := cfg.HTTPListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			if cfg.HTTPSListener != nil {
				cfg.HTTPSListener.Close()
			}
			return fmt.Errorf("listen for traffic: %w", err)
		}
	}
	ctlLn, err := ListenControl(cfg.SocketPath)
	if err != nil {
		ln.Close()
		if cfg.HTTPSListener != nil {
			cfg.HTTPSListener.Close()
		}
		return err
	}

	stop := make(chan struct{})
	var stopOnce sync.Once
	requestStop := func() { stopOnce.Do(func() { close(stop) }) }

	// Requests' contexts derive from trafficCtx; cancelling it at the end
	// of the grace period ends upgraded connections, which
	// http.Server.Shutdown does not track.
	trafficCtx, endTraffic := context.WithCancel(context.Background())
	defer endTraffic()
	srv := proxy.NewServer(cfg.HTTPAddr, p)
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	srv.BaseContext = func(net.Listener) context.Context { return trafficCtx }
	ctl := &http.Server{
		Handler:           ControlHandler(p, WithShutdown(requestStop)),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}

	https, err := newHTTPSFront(cfg, p, srv) // nil when HTTPS is off
	if err != nil {
		ln.Close()
		ctlLn.Close()
		return err
	}

	errc := make(chan error, 3)
	fast := proxy.NewFastServer(p, srv)
	serveHTTP := https.httpServe(fast, srv)
	go func() {
		if err := serveHTTP(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve traffic: %w", err)
			return
		}
		errc <- nil
	}()
	go func() { errc <- serve("control", ctl, ctlLn) }()
	pending := 2
	if https != nil {
		pending++
		go func() { errc <- https.serve() }()
		log.Info("proxy serving https", "https", https.ln.Addr().String(), "acme", cfg.TLS.UsesACME(), "redirect", cfg.RedirectHTTPS)
	}
	routes, _ := p.Routes(ctx)
	log.Info("proxy serving", "http", ln.Addr().String(), "control", cfg.SocketPath, "routes", len(routes))

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("proxy stopping", "why", "signal")
	case <-stop:
		log.Info("proxy stopping", "why", "shutdown requested")
	case runErr = <-errc:
		pending--
		log.Error("proxy stopping", "err", runErr)
	}

	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	httpsStopped := https.shutdown(sctx)
	if err := fast.Shutdown(sctx); err != nil {
		log.Warn("requests still in flight at the end of the grace period", "err", err)
		srv.Close()
	}
	<-httpsStopped
	if n, _ := p.Drain(sctx, p.Addrs(), cfg.ShutdownTimeout); n > 0 {
		log.Warn("closing upgraded connections at the end of the grace period", "in_flight", n)
	}
	endTraffic()
	_, _ = p.Drain(context.Background(), p.Addrs(), time.Second)
	if err := ctl.Shutdown(sctx); err != nil {
		ctl.Close()
	}
	for ; pending > 0; pending-- {
		if err := <-errc; err != nil && runErr == nil {
			runErr = err
		}
	}
	log.Info("proxy stopped")
	return runErr
}

func serve(what string, srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", what, err)
	}
	return nil
}
