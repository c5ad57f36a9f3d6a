package proxy

import (
	"github.com/nonstopdev/nonstop/internal/proxy/h1"

	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// errNoHealthy means the route has no backend that may take a request.
var errNoHealthy = errors.New("no healthy backend")

// retryTransport sends each proxied request to a backend it picks per
// attempt, and tries again on another backend when that is safe:
//   - a request that never reached a backend (the dial failed, or the
//     connection broke before a byte of the request was written) is
//     retried whatever its method;
//   - a request that may have reached one is retried only if it is
//     idempotent (GET, HEAD, OPTIONS, TRACE, or it has an Idempotency-Key)
//     and no response came back;
//   - never once a byte of the request body was read, since the body is
//     streamed, not buffered.
type retryTransport struct {
	p           *Proxy
	base        *http.Transport
	maxAttempts int
}

func newRetryTransport(p *Proxy, o Options) *retryTransport {
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
	return &retryTransport{p: p, base: base, maxAttempts: o.MaxAttempts}
}

func (t *retryTransport) closeIdle() { t.base.CloseIdleConnections() }

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateOf(req.Context())
	if st == nil {
		return nil, errors.New("proxy transport: request has no route")
	}
	var body *replayBody
	if req.Body != nil && req.Body != http.NoBody {
		body = newReplayBody(req.Body)
		st.body = body
	}
	var tried []*backend
	var lastErr error
	for range t.maxAttempts {
		b := t.p.entryFor(st).pickFor(st.target, tried)
		if b == nil {
			break
		}
		var attemptBody io.ReadCloser
		if body != nil {
			a, ok := body.attempt()
			if !ok {
				break
			}
			attemptBody = a
		}
		tried = append(tried, b)
		resp, reached, err := t.try(req, b, attemptBody)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retryable(req, reached, err) {
			break
		}
		t.p.log.Debug("retrying request", "app", st.app, "request_id", st.id, "backend", b.addr, "reached", reached, "err", err)
	}
	if lastErr == nil {
		lastErr = errNoHealthy
	}
	return nil, lastErr
}

// try sends one attempt to b. reached reports whether any byte of the
// request may have reached the backend.
func (t *retryTransport) try(req *http.Request, b *backend, body io.ReadCloser) (resp *http.Response, reached bool, err error) {
	var w wire
	out := req.WithContext(httptrace.WithClientTrace(req.Context(), w.trace()))
	u := *req.URL
	u.Scheme, u.Host = "http", b.addr
	out.URL = &u
	out.Body = body
	out.GetBody = nil

	start := time.Now()
	b.inflight.Add(1)
	b.requests.Add(1)
	resp, err = t.base.RoundTrip(out)
	if err != nil {
		b.inflight.Add(-1)
		if req.Context().Err() == nil {
			b.fail(err.Error())
			metrics{}.connError(nil, b)
			if isDialError(err) && b.eject(err.Error()) {
				t.p.log.Warn("backend ejected: connect failed", "addr", b.addr, "err", err)
			}
		}
		return nil, w.reached(), err
	}
	if resp.StatusCode >= 500 {
		b.fail("response " + resp.Status)
	}
	if e := t.p.entryFor(stateOf(req.Context())); b.answered(e, resp.StatusCode) {
		t.p.log.Warn("backend ejected: failing answers", "app", e.route.App, "addr", b.addr)
	}
	counted := countBody(resp.Body, b, resp.StatusCode, start)
	resp.Body = counted
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection ends with its request; make sure it is
		// closed (and uncounted) even if ReverseProxy gives up on it.
		context.AfterFunc(req.Context(), func() { counted.Close() })
	}
	return resp, true, nil
}

// retryable decides whether a failed attempt, with no response, may be
// sent again.
func retryable(req *http.Request, reached bool, err error) bool {
	if req.Context().Err() != nil {
		return false
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return false
	}
	return !reached || idempotent(req)
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
