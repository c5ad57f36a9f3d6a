package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"syscall"
)

// reqState is what a proxied request carries through ReverseProxy to the
// transport and the error handler.
type reqState struct {
	app    string
	entry  *routeEntry // the route the request was matched to
	target target      // which of the route's backends it goes to
	cookie string      // the bucket cookie the answer sets, if any
	id     string      // X-Request-ID
	body   *replayBody // set by the transport when the request has a body
}

type stateKey struct{}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// entryFor returns the app's current route, so that a retry uses the
// backends of a route swapped in meanwhile, or the route the request was
// matched to if the app's route is gone.
func (p *Proxy) entryFor(st *reqState) *routeEntry { return p.current(st.entry) }

// ServeHTTP routes r by its Host to the app's backends.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := p.table.Load().lookup(r.Host)
	if e == nil {
		writeNotFound(w, r, normalizeHost(r.Host))
		return
	}
	if e.route.Maintenance {
		writeMaintenance(w, r, e.route.App)
		return
	}
	if e.hold != nil {
		if err := e.hold.wait(); err != nil {
			w.Header().Set("Retry-After", "1")
			writePage(w, r, http.StatusServiceUnavailable, err.Error())
			return
		}
		e = p.current(e) // the route may have changed while held
	}
	rt := &e.route
	if !e.anyHealthy() {
		writeNoHealthy(w, r, rt.App)
		return
	}
	if rt.MaxBodyBytes > 0 {
		if r.ContentLength > rt.MaxBodyBytes {
			writeTooLarge(w, r, rt.App, rt.MaxBodyBytes)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, rt.MaxBodyBytes)
		}
	}
	st := &reqState{app: rt.App, entry: e, id: requestID(r.Header.Get("X-Request-ID"))}
	var setBucket int
	st.target, setBucket = e.choose(forcedRelease(r.Header), bucketOf(r.Header))
	if setBucket >= 0 {
		st.cookie = bucketCookieValue(setBucket)
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
}

func (p *Proxy) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The URL's host is the backend, set per attempt by the
			// transport; the Host header stays the client's.
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Request-ID", stateOf(pr.In.Context()).id)
		},
		Transport:      p.transport,
		ModifyResponse: modifyResponse,
		ErrorHandler:   p.proxyError,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		BufferPool:     newBufferPool(),
	}
}

func modifyResponse(resp *http.Response) error {
	st := stateOf(resp.Request.Context())
	resp.Header.Set("X-Request-ID", st.id)
	if st.cookie != "" {
		resp.Header.Add("Set-Cookie", st.cookie)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		want, got := resp.Request.Header.Get("Upgrade"), resp.Header.Get("Upgrade")
		if !strings.EqualFold(want, got) {
			return fmt.Errorf("backend switched to protocol %q when %q was asked", got, want)
		}
	}
	return nil
}

// proxyError answers a request that got no response from any backend.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r.Context())
	if st == nil { // not one of ours: ReverseProxy refused it early
		writePage(w, r, http.StatusBadGateway, "bad gateway")
		return
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || (st.body != nil && errors.As(st.body.err(), &tooLarge)) {
		writeTooLarge(w, r, st.app, tooLarge.Limit)
		return
	}
	if errors.Is(err, errNoHealthy) {
		writeNoHealthy(w, r, st.app)
		return
	}
	if r.Context().Err() != nil {
		return // the client left; nobody to answer
	}
	p.log.Warn("no answer from backend", "app", st.app, "request_id", st.id, "err", err)
	writeBadGateway(w, r, st.app, reason(err))
}

// reason says in a few words why a backend did not answer, without
// exposing backend addresses to clients.
func reason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return "no response"
}

// requestID keeps a sane incoming X-Request-ID, or makes a new one of 16
// random bytes in hex.
func requestID(in string) string {
	if saneRequestID(in) {
		return in
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

func saneRequestID[T string | []byte](s T) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '/' || c == '='
		if !ok {
			return false
		}
	}
	return true
}

// bufferPool recycles ReverseProxy's copy buffers; one per Proxy.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *b.pool.Get().(*[]byte) }
func (b *bufferPool) Put(p []byte) { b.pool.Put(&p) }
