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

// proxy forwards the request in c.req through the attempt loop, with c as
// its leg. It reports whether the client connection may serve another
// request.
func (c *fastConn) proxy(method, target []byte) (keepAlive bool) {
	h := &c.req
	host := c.normalizedHost()
	e := c.s.p.table.Load().byHost[string(host)]
	in := &c.inb
	*in = inbound{method: method, target: target, id: c.id, client: c.clientIP,
		isHead: h1.Eq(method, "head"), idempotent: isIdempotent(method, h),
		hasBody: h.Chunked || h.ContentLength > 0, contentLength: h.ContentLength, start: time.Now()}
	if h.Chunked {
		in.contentLength = -1
	}
	in.force, in.bucket = c.routing()
	c.bodyStarted, c.bodyDone = false, !in.hasBody
	return c.s.p.serveRequest(e, string(host), in, c)
}

// attempt sends the request to b, on a kept-alive connection unless fresh,
// and relays the answer.
func (c *fastConn) attempt(e *routeEntry, b *backend, fresh bool) attemptResult {
	var u *h1.Conn
	if !fresh {
		u = b.pool.Get(c.inb.start, b.maxIdle(c.s.p.opts.IdleConnTimeout))
	}
	if u == nil {
		var err error
		if u, err = c.s.p.dialUpstream(context.Background(), b); err != nil {
			return attemptResult{err: err} // never reached it
		}
	}
	return c.exchange(e, b, u)
}

func (c *fastConn) bodyRead() bool { return c.bodyStarted }

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

// exchange sends the request on u and copies the response to the client.
func (c *fastConn) exchange(e *routeEntry, b *backend, u *h1.Conn) attemptResult {
	method, target := c.inb.method, c.inb.target
	written := u.Counted.Written.Load()
	reached := func() bool { return u.Counted.Written.Load() != written }
	c.writeRequestHead(u, method, target)
	if err := c.copyRequestBody(e, u); err != nil {
		u.Close()
		if errors.Is(err, h1.ErrRead) {
			return attemptResult{reached: true, err: fmt.Errorf("%w: %w", errClientGone, err)}
		}
		return attemptResult{reached: reached(), err: err}
	}
	if err := u.BW.Flush(); err != nil {
		u.Close()
		return attemptResult{reached: reached(), err: err}
	}
	if err := c.awaitAnswer(u); err != nil {
		u.Close()
		return attemptResult{reached: true, err: err}
	}
	// Informational answers (103 Early Hints) go through; the final one follows.
	for first := true; ; first = false {
		if err := c.resp.ReadResponse(u.BR, 64<<10); err != nil {
			u.Close()
			if first && u.Reused && len(c.resp.Raw) == 0 && !isTimeout(err) && !errors.Is(err, h1.ErrHeadTooLarge) {
				err = fmt.Errorf("%w: %w", errStaleConn, err)
			}
			return attemptResult{reached: true, err: err}
		}
		code, _, ok := h1.StatusLine(c.resp.Bytes(c.resp.Line))
		if !ok || code == http.StatusSwitchingProtocols || c.resp.Unusual {
			u.Close()
			return attemptResult{reached: true, err: h1.ErrBadHead}
		}
		c.resp.Status = code
		if code >= 200 {
			break
		}
		c.writeResponseHead(true, false)
	}
	u.Counted.SetReadDeadline(time.Time{}) // the body streams as long as it takes
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
	noBody := c.inb.isHead || code == http.StatusNoContent || code == http.StatusNotModified
	untilEOF := !noBody && !c.resp.Chunked && c.resp.ContentLength < 0
	keepAlive := !c.req.Close && !untilEOF && !c.s.closing.Load()
	if err := c.writeResponseHead(keepAlive, untilEOF); err != nil {
		u.Close()
		return attemptResult{status: code, reached: true, err: errClientGone}
	}
	var err error
	switch {
	case noBody:
	case c.resp.Chunked:
		err = h1.CopyChunked(c.bw, u.BR, 0)
	case untilEOF:
		err = h1.CopyUntilEOF(c.bw, u.BR)
	default:
		err = h1.CopyN(c.bw, u.BR, c.resp.ContentLength)
	}
	if err == nil && c.bw.Flush() != nil {
		err = h1.ErrWrite
	}
	if err != nil {
		u.Close()
		// The answer is cut: the client must not take it as whole.
		if errors.Is(err, h1.ErrRead) {
			return attemptResult{status: code, reached: true, err: fmt.Errorf("%w: %w", errAnswerCut, err)}
		}
		return attemptResult{status: code, reached: true, err: errClientGone}
	}
	if c.reusable(b, u, method, untilEOF) {
		b.pool.Put(u, time.Now(), c.s.p.opts.MaxIdleConnsPerHost)
	} else {
		u.Close()
	}
	return attemptResult{status: code, keepAlive: keepAlive, reached: true}
}

// clientCheckEvery is how often a request waiting for its backend's answer
// looks whether its client is still there.
const clientCheckEvery = time.Second

// awaitAnswer waits for the first byte of the backend's answer on u, at
// most the response header timeout, looking every clientCheckEvery whether
// the client closed its connection meanwhile: a request whose client left
// ends (errClientGone) instead of staying in flight, holding a backend
// connection and a drain, until the backend answers nobody.
func (c *fastConn) awaitAnswer(u *h1.Conn) error {
	var deadline time.Time
	if t := c.s.p.opts.ResponseHeaderTimeout; t > 0 {
		deadline = time.Now().Add(t)
	}
	for {
		next := time.Now().Add(clientCheckEvery)
		if !deadline.IsZero() && deadline.Before(next) {
			next = deadline
		}
		u.Counted.SetReadDeadline(next)
		_, err := u.BR.Peek(1)
		switch {
		case err == nil:
			u.Counted.SetReadDeadline(deadline) // for the rest of the head (zero: none)
			return nil
		case !isTimeout(err), !deadline.IsZero() && !time.Now().Before(deadline):
			if u.Reused && !isTimeout(err) {
				return fmt.Errorf("%w: %w", errStaleConn, err)
			}
			return err
		case c.probe.State() == h1.IdleClosed:
			return errClientGone
		}
	}
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
	if c.inb.setBucket >= 0 && h.Status >= 200 {
		writeBucketCookie(w, c.inb.setBucket)
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
	if c.bodyDone {
		return nil
	}
	c.bodyStarted = true
	c.in.inBody = true
	defer func() { c.in.inBody = false }()
	var err error
	if h.Chunked {
		err = h1.CopyChunked(u.BW, c.br, e.route.MaxBodyBytes)
	} else {
		err = h1.CopyN(u.BW, c.br, h.ContentLength)
	}
	c.bodyDone = err == nil
	return err
}

// page answers with one of the proxy's own pages. A request body that was
// not read means the connection cannot be reused.
// The connection goes on after it only when nothing of the request is left
// unread on it.
func (c *fastConn) page(code int, msg, retryAfter string) bool {
	w := &rawWriter{bw: c.bw, header: http.Header{}, close: !c.bodyDone || c.req.Close || c.s.closing.Load()}
	if retryAfter != "" {
		w.header.Set("Retry-After", retryAfter)
	}
	w.header.Set("X-Request-ID", string(c.id))
	r := &http.Request{Method: string(c.inb.method), Header: http.Header{}}
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
