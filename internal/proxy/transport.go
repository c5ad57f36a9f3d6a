package proxy

import (
	"fmt"

	"github.com/nonstopdev/nonstop/internal/proxy/h1"

	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// attemptTransport sends one attempt of a request on the net/http path to
// the backend the attempt loop picked for it (reqState.backend), over
// kept-alive connections that the backend's pool tracks, and notes whether
// any of the request went out.
type attemptTransport struct {
	p    *Proxy
	base *http.Transport
}

func newAttemptTransport(p *Proxy, o Options) *attemptTransport {
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	base := &http.Transport{
		Proxy: nil, // never HTTP_PROXY: backends are local
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cc := &h1.CountingConn{Conn: c}
			if b := p.backendAt(addr); b != nil {
				b.pool.Track(cc)
			}
			return cc, nil
		},
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.IdleConnTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass encodings through untouched
	}
	return &attemptTransport{p: p, base: base}
}

func (t *attemptTransport) closeIdle() { t.base.CloseIdleConnections() }

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateOf(req.Context())
	if st == nil || st.backend == nil {
		return nil, errors.New("proxy transport: request has no backend")
	}
	var w wire
	out := req.WithContext(httptrace.WithClientTrace(req.Context(), w.trace()))
	u := *req.URL
	u.Scheme, u.Host = "http", st.backend.addr
	out.URL = &u
	out.GetBody = nil
	resp, err := t.base.RoundTrip(out)
	st.reached = err == nil || w.reached()
	if err != nil && req.Context().Err() != nil {
		err = fmt.Errorf("%w: %w", errClientGone, err)
	}
	return resp, err
}

// idempotent reports whether a request may be sent twice.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// wire follows one attempt's connection through httptrace.
type wire struct {
	mu      sync.Mutex
	gotConn bool
	conn    *h1.CountingConn
	start   int64
}

func (w *wire) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.gotConn = true
			w.conn, _ = info.Conn.(*h1.CountingConn)
			if w.conn != nil {
				w.start = w.conn.Written.Load()
			}
		},
	}
}

// reached reports whether the attempt wrote anything to a connection. Not
// knowing (a connection of another kind) counts as reached.
func (w *wire) reached() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.gotConn {
		return false
	}
	if w.conn == nil {
		return true
	}
	return w.conn.Written.Load() != w.start
}
