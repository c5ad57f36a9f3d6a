package proxy

import (
	"github.com/nonstopdev/nonstop/internal/proxy/h1"

	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// errClientGone marks a failure on the client's side of a request.
var errClientGone = errors.New("client connection failed")

// proxy forwards the request in c.req to a backend of its app and copies
// the response back. It reports whether the client connection may serve
// another request.
func (c *fastConn) proxy(method, target []byte) (keepAlive bool) {
	h := &c.req
	e := c.s.p.table.Load().byHost[string(c.normalizedHost())]
	hasBody := h.Chunked || h.ContentLength > 0
	switch {
	case e == nil:
		return c.page(http.StatusNotFound, "no app is served at host "+string(c.hostBuf), "", hasBody)
	case e.route.Maintenance:
		return c.page(http.StatusServiceUnavailable, "app "+e.route.App+" is down for maintenance", "30", hasBody)
	case e.route.MaxBodyBytes > 0 && h.ContentLength > e.route.MaxBodyBytes:
		return c.page(http.StatusRequestEntityTooLarge, "app "+e.route.App+" accepts request bodies of at most "+strconv.FormatInt(e.route.MaxBodyBytes, 10)+" bytes", "", true)
	}
	if e.route.Hold != nil {
		if err := c.s.p.waitHold(e); err != nil {
			return c.page(http.StatusServiceUnavailable, err.Error(), "1", hasBody)
		}
		e = c.s.p.current(e) // the route may have changed while held
	}
	t, setBucket := e.choose(c.routing())
	c.setBucket = setBucket
	start := time.Now()
	isHead := h1.Eq(method, "head")
	idempotent := isIdempotent(method, h)
	tried := c.tried[:0]
	var lastErr error
	fresh := false // the next attempt dials a new connection
	for attempt := 0; attempt < c.s.p.opts.MaxAttempts; attempt++ {
		if attempt > 0 {
			e = c.s.p.current(e) // a retry goes to the route as it is now
		}
		var b *backend
		if last := len(tried) - 1; fresh && e.serves(tried[last]) {
			b = tried[last] // the same backend, on a new connection
		} else if b = e.pickFor(t, tried); b == nil {
			break
		} else {
			tried = append(tried, b)
		}
		var u *h1.Conn
		if !fresh {
			u = b.pool.Get(start, b.maxIdle(c.s.p.opts.IdleConnTimeout))
		}
		fresh = false
		if u == nil {
			var err error
			if u, err = c.s.p.dialUpstream(context.Background(), b); err != nil {
				lastErr = err
				b.fail(err.Error())
				if b.eject(err.Error()) {
					c.s.p.log.Warn("backend ejected: connect failed", "addr", b.addr, "err", err)
				}
				c.s.p.metrics.connError(e, b)
				continue // never reached it: try another
			}
		}
		b.inflight.Add(1)
		b.requests.Add(1)
		keep, reached, err := c.exchange(e, b, u, method, target, isHead)
		b.inflight.Add(-1)
		if err == nil {
			d := time.Since(start)
			c.s.p.metrics.observe(e, b, c.resp.Status, d)
			c.logAccess(e, b, method, target, c.resp.Status, start, d)
			return keep
		}
		if errors.Is(err, errClientGone) {
			return false
		}
		if errors.Is(err, h1.ErrBodyTooLarge) {
			return c.page(http.StatusRequestEntityTooLarge, "app "+e.route.App+" accepts request bodies of at most "+strconv.FormatInt(e.route.MaxBodyBytes, 10)+" bytes", "", true)
		}
		lastErr = err
		if errors.Is(err, errStaleConn) && !hasBody && idempotent {
			// The backend closed a kept-alive connection as the request
			// went out: not its failure, and the request is sent again
			// on a connection of its own.
			b.requests.Add(-1)
			fresh = true
			continue
		}
		b.fail(err.Error())
		c.s.p.metrics.connError(e, b)
		if hasBody || reached && !idempotent {
			// Its body is (partly) read, or the backend may have acted on
			// it: not safe to send twice.
			break
		}
	}
	if lastErr == nil {
		return c.page(http.StatusServiceUnavailable, "app "+e.route.App+" has no healthy instance", "1", hasBody)
	}
	c.s.p.log.Warn("no answer from backend", "app", e.route.App, "err", lastErr)
	return c.page(http.StatusBadGateway, "app "+e.route.App+": the instance did not answer ("+reason(lastErr)+")", "", true)
}

// routing reads what routes a request beyond its host: the release it
// forces (X-Nonstop-Release) and the client's bucket cookie, -1 for none.
func (c *fastConn) routing() (force, bucket int) {
	force, bucket = -1, -1
	for _, f := range c.req.Fields {
		switch n := c.req.Name(f); {
		case bucket < 0 && h1.Eq(n, "cookie"):
			bucket = parseBucket(c.req.Value(f))
		case force < 0 && h1.Eq(n, "x-nonstop-release"):
			force = parseRelease(c.req.Value(f))
		}
	}
	return force, bucket
}

// current returns the app's route in the table now (for a preview host's
// entry, that of the same preview), or e if it is gone.
func (p *Proxy) current(e *routeEntry) *routeEntry {
	now := p.table.Load().byApp[e.route.App]
	if now == nil {
		return e
	}
	if e.preview {
		if pe := now.previews[e.previewRelease]; pe != nil {
			return pe
		}
		return e
	}
	return now
}

func isIdempotent(method []byte, h *h1.Head) bool {
	if h1.Eq(method, "get") || h1.Eq(method, "head") || h1.Eq(method, "options") || h1.Eq(method, "trace") {
		return true
	}
	for _, f := range h.Fields {
		if n := h.Name(f); h1.Eq(n, "idempotency-key") || h1.Eq(n, "x-idempotency-key") {
			return true
		}
	}
	return false
}

// errStaleConn is a kept-alive connection that gave no answer at all: the
// backend closed it as the request went out. The request is tried again
// on a new connection when it is safe to; it is not the backend's fault.
var errStaleConn = errors.New("kept-alive connection closed by the backend")

// exchange sends the request on u and copies the response to the client.
// reached reports whether the backend may have seen any of the request.
// An error wrapping errClientGone means the client failed.
func (c *fastConn) exchange(e *routeEntry, b *backend, u *h1.Conn, method, target []byte, isHead bool) (keepAlive, reached bool, err error) {
	cc := u.Counted
	written := cc.Written.Load()
	c.writeRequestHead(u, method, target)
	if err := c.copyRequestBody(e, u); err != nil {
		u.Close()
		if errors.Is(err, h1.ErrRead) {
			return false, true, errClientGone
		}
		return false, cc.Written.Load() != written, err
	}
	if err := u.BW.Flush(); err != nil {
		u.Close()
		return false, cc.Written.Load() != written, err
	}
	// Informational answers (103 Early Hints) go through; the final one follows.
	for first := true; ; first = false {
		if err := c.resp.Read(u.BR, 64<<10); err != nil {
			u.Close()
			if first && u.Reused && len(c.resp.Raw) == 0 && !errors.Is(err, h1.ErrHeadTooLarge) {
				err = fmt.Errorf("%w: %w", errStaleConn, err)
			}
			return false, true, err
		}
		code, _, ok := h1.StatusLine(c.resp.Bytes(c.resp.Line))
		if !ok || code == http.StatusSwitchingProtocols || c.resp.Unusual && code >= 200 {
			u.Close()
			return false, true, h1.ErrBadHead
		}
		c.resp.Status = code
		if code >= 200 {
			break
		}
		c.writeResponseHead(true, false)
	}
	if c.resp.Status >= 500 {
		b.fail("response " + strconv.Itoa(c.resp.Status))
	}
	if b.answered(e, c.resp.Status) {
		c.s.p.log.Warn("backend ejected: failing answers", "app", e.route.App, "addr", b.addr)
	}
	if c.resp.IdleHint > 0 {
		b.noteIdleHint(c.resp.IdleHint)
	}
	code := c.resp.Status
	noBody := isHead || code == http.StatusNoContent || code == http.StatusNotModified
	untilEOF := !noBody && !c.resp.Chunked && c.resp.ContentLength < 0
	keepAlive = !c.req.Close && !untilEOF && !c.s.closing.Load()
	if err := c.writeResponseHead(keepAlive, untilEOF); err != nil {
		u.Close()
		return false, true, errClientGone
	}
	switch {
	case noBody:
	case c.resp.Chunked:
		err = h1.CopyChunked(c.bw, u.BR, 0)
	case untilEOF:
		err = h1.CopyUntilEOF(c.bw, u.BR)
	default:
		err = h1.CopyN(c.bw, u.BR, c.resp.ContentLength)
	}
	if err == nil {
		err = c.bw.Flush()
		if err != nil {
			err = errClientGone
		}
	}
	if err != nil {
		u.Close()
		// The answer is cut: the client must not take it as whole.
		return false, true, errClientGone
	}
	if c.reusable(b, u, method, untilEOF) {
		b.pool.Put(u, time.Now(), c.s.p.opts.MaxIdleConnsPerHost)
	} else {
		u.Close()
	}
	return keepAlive, true, nil
}

// reusable reports whether the backend connection u may carry another
// request once this exchange is over (RFC 9112 §9.3): the answer was framed
// (not ended by the close), the backend allowed it (HTTP/1.1 without
// Connection: close, HTTP/1.0 only with keep-alive), the answer had one
// framing, and nothing is left unread on it. A request with a body is a
// further risk: a server that answers without reading the body (Python's
// http.server ignores GET bodies; many answer 4xx early) reads that body
// as its next request, and the answer to it would go to the next client.
// So after a body the connection is reused only when the method is one
// whose body servers read and the answer is not an error.
func (c *fastConn) reusable(b *backend, u *h1.Conn, method []byte, untilEOF bool) bool {
	r := &c.resp
	switch {
	case untilEOF, r.Close, r.HTTP10() && !r.KeepAlive, r.Chunked && r.ContentLength >= 0, b.sloppy.Load():
		return false
	case u.BR.Buffered() > 0:
		b.sloppy.Store(true) // bytes nobody asked for
		return false
	case c.req.Chunked || c.req.ContentLength > 0:
		return r.Status < 400 && (h1.Eq(method, "post") || h1.Eq(method, "put") || h1.Eq(method, "patch"))
	}
	return true
}

// writeRequestHead writes the request line and headers for the backend:
// hop-by-hop headers dropped, X-Forwarded-* and X-Request-ID set.
func (c *fastConn) writeRequestHead(u *h1.Conn, method, target []byte) {
	w, h := u.BW, &c.req
	w.Write(method)
	w.WriteByte(' ')
	w.Write(target)
	w.WriteString(" HTTP/1.1\r\n")
	for _, f := range h.Fields {
		n := h.Name(f)
		if h1.HopByHop(n) || h1.Eq(n, "forwarded") || h1.Eq(n, "x-forwarded-for") || h1.Eq(n, "x-forwarded-host") || h1.Eq(n, "x-forwarded-proto") || h1.Eq(n, "x-request-id") {
			continue
		}
		w.Write(h.Raw[f.NS:f.VE])
		w.WriteString("\r\n")
	}
	// The proxy is the edge: what clients claim in Forwarded and
	// X-Forwarded-* is not passed on (as on the net/http path), so
	// backends can trust these.
	w.WriteString("X-Forwarded-For: ")
	w.Write(c.clientIP)
	w.WriteString("\r\nX-Forwarded-Host: ")
	w.Write(h.Bytes(h.Host))
	w.WriteString("\r\nX-Forwarded-Proto: ")
	w.WriteString(c.s.Scheme)
	w.WriteString("\r\nX-Request-ID: ")
	w.Write(c.id)
	w.WriteString("\r\n\r\n")
}

// writeResponseHead writes the backend's status line and headers to the
// client, without hop-by-hop headers, with the request's id and, on the
// final answer to a new client of a split route, its bucket cookie.
func (c *fastConn) writeResponseHead(keepAlive, untilEOF bool) error {
	w, h := c.bw, &c.resp
	w.WriteString("HTTP/1.1 ")
	_, rest, _ := h1.StatusLine(h.Bytes(h.Line))
	w.Write(rest)
	w.WriteString("\r\n")
	for _, f := range h.Fields {
		n := h.Name(f)
		if h1.HopByHop(n) || h1.Eq(n, "x-request-id") || h.NamedByConnection(n) ||
			h.Chunked && h1.Eq(n, "content-length") { // chunked wins (RFC 9112 §6.3)
			continue
		}
		w.Write(h.Raw[f.NS:f.VE])
		w.WriteString("\r\n")
	}
	if c.setBucket >= 0 && h.Status >= 200 {
		writeBucketCookie(w, c.setBucket)
	}
	w.WriteString("X-Request-ID: ")
	w.Write(c.id)
	if !keepAlive {
		w.WriteString("\r\nConnection: close")
	}
	_, err := w.WriteString("\r\n\r\n")
	if h.Status < 200 {
		err = w.Flush()
	}
	return err
}

// copyRequestBody streams the request body to the backend with its framing,
// within the route's size limit.
func (c *fastConn) copyRequestBody(e *routeEntry, u *h1.Conn) error {
	h := &c.req
	switch {
	case h.Chunked:
		return h1.CopyChunked(u.BW, c.br, e.route.MaxBodyBytes)
	case h.ContentLength > 0:
		return h1.CopyN(u.BW, c.br, h.ContentLength)
	}
	return nil
}

// page answers with one of the proxy's own pages. A request body that was
// not read means the connection cannot be reused.
func (c *fastConn) page(code int, msg, retryAfter string, closeConn bool) bool {
	w := &rawWriter{bw: c.bw, header: http.Header{}, close: closeConn || c.req.Close}
	if retryAfter != "" {
		w.header.Set("Retry-After", retryAfter)
	}
	w.header.Set("X-Request-ID", string(c.id))
	r := &http.Request{Method: string(c.method()), Header: http.Header{}}
	for _, f := range c.req.Fields {
		if h1.Eq(c.req.Name(f), "accept") {
			r.Header.Set("Accept", string(c.req.Value(f)))
		}
	}
	writePage(w, r, code, msg)
	if c.bw.Flush() != nil {
		return false
	}
	return !w.close
}

func (c *fastConn) method() []byte {
	m, _, _, _ := h1.RequestLine(c.req.Bytes(c.req.Line))
	return m
}

// rawWriter is an http.ResponseWriter over a client connection's buffer,
// for the proxy's own pages on the fast path.
type rawWriter struct {
	bw     *bufio.Writer
	header http.Header
	close  bool
	wrote  bool
}

func (w *rawWriter) Header() http.Header { return w.header }

func (w *rawWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if w.close {
		w.header.Set("Connection", "close")
	}
	w.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	w.header.Write(w.bw)
	w.bw.WriteString("\r\n")
}

func (w *rawWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.bw.Write(p)
}

// logAccess records the request in the access log, if there is one.
func (c *fastConn) logAccess(e *routeEntry, b *backend, method, target []byte, status int, start time.Time, d time.Duration) {
	l := c.s.p.opts.AccessLog
	if l == nil {
		return
	}
	r := &c.access
	r.at, r.app, r.status, r.dur, r.release = start, e.route.App, status, d, 0
	if s := b.stats.Load(); s != nil {
		r.release = s.release
	}
	r.method, r.target, r.id, r.client = method, target, c.id, c.clientIP
	l.record(r)
}
