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
	"time"
)

// slowLeg is a request on the net/http path (HTTP/1.0, upgrades such as
// WebSocket, Expect: 100-continue, HTTPS and HTTP/2): each attempt is one
// pass of httputil.ReverseProxy, which relays the answer (trailers,
// streams, upgraded connections) with the transport sending it to the
// backend the attempt loop picked.
type slowLeg struct {
	p  *Proxy
	w  http.ResponseWriter
	r  *http.Request
	st *reqState
}

// reqState is what one attempt carries through ReverseProxy to the
// transport, the response hook and the error handler, and back.
type reqState struct {
	entry   *routeEntry
	backend *backend
	in      *inbound
	body    *replayBody // the request body, nil without one
	// Set by the attempt.
	status  int   // the answer's status, once it came
	reached bool  // the backend may have seen some of the request
	err     error // why no answer was relayed
}

type stateKey struct{}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// ServeHTTP routes r by its Host to the app's backends.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := normalizeHost(r.Host)
	e := p.table.Load().byHost[host]
	in := &inbound{method: []byte(r.Method), target: []byte(r.URL.RequestURI()), id: []byte(requestID(r.Header.Get("X-Request-ID"))),
		client: []byte(clientIP(r)), isHead: r.Method == http.MethodHead, idempotent: idempotent(r),
		contentLength: r.ContentLength, force: forcedRelease(r.Header), bucket: bucketOf(r.Header), start: time.Now()}
	st := &reqState{in: in}
	if r.Body != nil && r.Body != http.NoBody {
		in.hasBody = true
		var body io.ReadCloser = &progressBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: p.opts.RequestBodyTimeout}
		if e != nil && e.route.MaxBodyBytes > 0 {
			body = http.MaxBytesReader(w, body, e.route.MaxBodyBytes)
		}
		st.body = newReplayBody(body)
	}
	l := &slowLeg{p: p, w: w, r: r.WithContext(context.WithValue(r.Context(), stateKey{}, st)), st: st}
	p.serveRequest(e, host, in, l)
	if st.err != nil && (errors.Is(st.err, errAnswerCut) || errors.Is(st.err, errClientGone)) {
		// Part of an answer went out: the connection must end, so the
		// client does not take it as whole.
		panic(http.ErrAbortHandler)
	}
}

// attempt makes one pass of ReverseProxy to b.
func (l *slowLeg) attempt(e *routeEntry, b *backend, fresh bool) (res attemptResult) {
	st := l.st
	st.entry, st.backend, st.status, st.reached, st.err = e, b, 0, false, nil
	out := l.r
	if st.body != nil {
		a, ok := st.body.attempt()
		if !ok {
			return attemptResult{reached: true, err: errors.New("request body already sent")}
		}
		out = l.r.Clone(l.r.Context())
		out.Body = a
	}
	defer func() {
		// ReverseProxy aborts a copy that broke with ErrAbortHandler.
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			st.err = errAnswerCut
			if l.r.Context().Err() != nil {
				st.err = errClientGone
			}
			res = attemptResult{status: st.status, reached: true, err: st.err}
		}
	}()
	l.p.rp.ServeHTTP(l.w, out)
	switch {
	case st.err == nil:
	case st.status != 0:
		// The answer's head came (and an upgraded connection may be
		// hijacked): nothing more may be written, nor sent again.
		st.err = fmt.Errorf("%w: %w", errAnswerCut, st.err)
	case st.body != nil && isMaxBytes(st.body.err()):
		st.err = st.body.err()
	case st.body != nil && isTimeout(st.body.err()):
		// The client's body stalled: not the backend's fault.
		st.err = fmt.Errorf("%w: %w", errClientGone, st.body.err())
	}
	return attemptResult{status: st.status, keepAlive: true, reached: st.reached, err: st.err}
}

func (l *slowLeg) bodyRead() bool { return l.st.body != nil && l.st.body.read() }

func (l *slowLeg) page(code int, msg, retryAfter string) bool {
	if retryAfter != "" {
		l.w.Header().Set("Retry-After", retryAfter)
	}
	l.w.Header().Set("X-Request-ID", string(l.st.in.id))
	writePage(l.w, l.r, code, msg)
	return true
}

func (p *Proxy) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The URL's host is the backend, set per attempt by the
			// transport; the Host header stays the client's.
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Request-ID", string(stateOf(pr.In.Context()).in.id))
		},
		Transport:      p.transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// Nothing was relayed: the attempt loop decides what follows.
			if st := stateOf(r.Context()); st != nil && st.err == nil {
				st.err = err
			}
		},
		ErrorLog:   slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		BufferPool: newBufferPool(),
	}
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	st := stateOf(resp.Request.Context())
	resp.Header.Set("X-Request-ID", string(st.in.id))
	if st.in.setBucket >= 0 {
		resp.Header.Add("Set-Cookie", bucketCookieValue(st.in.setBucket))
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		want, got := resp.Request.Header.Get("Upgrade"), resp.Header.Get("Upgrade")
		if !strings.EqualFold(want, got) {
			return fmt.Errorf("backend switched to protocol %q when %q was asked", got, want)
		}
	}
	b := st.backend
	if resp.StatusCode >= 500 {
		b.fail("response " + resp.Status)
	}
	if b.answered(st.entry, resp.StatusCode) {
		p.log.Warn("backend ejected: failing answers", "app", st.entry.route.App, "addr", b.addr)
	}
	st.status = resp.StatusCode
	return nil
}

// progressBody is a request body on the net/http path whose every read
// must bring bytes within timeout, as on the fast path.
type progressBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
}

func (b *progressBody) Read(p []byte) (int, error) {
	b.rc.SetReadDeadline(time.Now().Add(b.timeout)) // HTTP/2 and some writers cannot: then no bound
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		// The body is over: the connection's reads are net/http's again
		// (it watches for the client leaving while the answer streams).
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// clientIP is the address of r's client, without its port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
