package proxy

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy/h1"
)

// One attempt loop serves both paths a request can take through the proxy
// (the fast path's h1 codec and net/http): every policy is written here
// once: maintenance, hold, the body limit, the choice of backend, the
// retry rules, ejection, the proxy's own answers, metrics and the access
// log. A path provides a leg: how one attempt is sent and answered, and
// how the proxy's own pages are written.

// leg is one request's side of a serving path.
type leg interface {
	// attempt sends the request to b and relays its answer to the client.
	// fresh asks for a new connection rather than a kept-alive one.
	attempt(e *routeEntry, b *backend, fresh bool) attemptResult
	// page answers the client with one of the proxy's own pages, and
	// reports whether the client connection may serve another request.
	page(code int, msg, retryAfter string) (keepAlive bool)
	// bodyRead reports whether any of the request body was read: the
	// request cannot be sent again then.
	bodyRead() bool
}

// attemptResult is how one attempt ended.
type attemptResult struct {
	// status is the answer relayed to the client when err is nil.
	status int
	// keepAlive: the client connection may serve another request.
	keepAlive bool
	// reached: the backend may have seen some of the request.
	reached bool
	err     error
}

// Errors an attempt may end with, besides the backend's own.
var (
	// errClientGone marks a failure on the client's side of a request:
	// nobody is left to answer.
	errClientGone = errors.New("client connection failed")
	// errStaleConn is a kept-alive connection that gave no answer at all:
	// the backend closed it as the request went out. The request is tried
	// again on a new connection when it is safe to; it is not the
	// backend's fault.
	errStaleConn = errors.New("kept-alive connection closed by the backend")
	// errAnswerCut is an answer that broke after its head was relayed:
	// the client must not take it as whole, and it cannot be retried.
	errAnswerCut = errors.New("answer cut")
)

// inbound is what the attempt loop knows of a request, from either path.
type inbound struct {
	method, target, id, client []byte // for the access log
	isHead, idempotent         bool
	hasBody                    bool
	contentLength              int64 // -1: unknown (chunked)
	force, bucket              int   // X-Nonstop-Release and the bucket cookie, -1: none
	start                      time.Time
	// setBucket is the bucket cookie the answer gives, -1 for none: set
	// by the loop (a new client of a split route gets one).
	setBucket int
}

// serveRequest answers one request to route e (nil: no app at its host)
// through l, and reports whether the client connection may serve another.
func (p *Proxy) serveRequest(e *routeEntry, host string, in *inbound, l leg) bool {
	in.setBucket = -1
	switch {
	case e == nil:
		return p.answer(nil, nil, in, l, http.StatusNotFound, "no app is served at host "+host, "")
	case e.route.Maintenance:
		return p.answer(e, nil, in, l, http.StatusServiceUnavailable, "app "+e.route.App+" is down for maintenance", "30")
	case e.route.MaxBodyBytes > 0 && in.contentLength > e.route.MaxBodyBytes:
		return p.answer(e, nil, in, l, http.StatusRequestEntityTooLarge, tooLargeMsg(e), "")
	}
	if e.hold != nil {
		if err := e.hold.wait(); err != nil {
			return p.answer(e, nil, in, l, http.StatusServiceUnavailable, err.Error(), "1")
		}
		e = p.current(e) // the route may have changed while held
	}
	var t target
	t, in.setBucket = e.choose(in.force, in.bucket)
	var tried []*backend
	var last *backend
	var lastErr error
	fresh := false // the next attempt opens a new connection to the same backend
	for attempt := 0; attempt < p.opts.MaxAttempts; attempt++ {
		if attempt > 0 {
			e = p.current(e) // a retry goes to the route as it is now
		}
		var b *backend
		if fresh && last != nil && e.serves(last) {
			b = last
		} else if b = e.pickFor(t, tried); b == nil {
			break
		} else {
			tried = append(tried, b)
		}
		last = b
		b.requests.Add(1)
		res := attemptOn(l, e, b, fresh)
		fresh = false
		err := res.err
		if err == nil {
			p.observe(e, b, in, res.status)
			return res.keepAlive
		}
		switch {
		case errors.Is(err, errClientGone):
			p.observe(e, b, in, statusClientGone)
			return false
		case errors.Is(err, errAnswerCut):
			b.fail(err.Error())
			p.observe(e, b, in, statusAnswerCut)
			return false
		case errors.Is(err, h1.ErrBodyTooLarge), isMaxBytes(err):
			b.requests.Add(-1)
			return p.answer(e, nil, in, l, http.StatusRequestEntityTooLarge, tooLargeMsg(e), "")
		case errors.Is(err, errStaleConn) && !l.bodyRead() && in.idempotent:
			b.requests.Add(-1)
			lastErr, fresh = err, true
			continue
		}
		lastErr = err
		b.fail(err.Error())
		p.metrics.connError(e, b)
		if isDialError(err) && b.eject(err.Error()) {
			p.log.Warn("backend ejected: connect failed", "addr", b.addr, "err", err)
		}
		if l.bodyRead() || res.reached && !in.idempotent || isTimeout(err) {
			// Its body is (partly) read, the backend may have acted on
			// it, or it waited its time: not to be sent again.
			break
		}
	}
	if lastErr == nil {
		return p.answer(e, nil, in, l, http.StatusServiceUnavailable, "app "+e.route.App+" has no healthy instance", "1")
	}
	p.log.Warn("no answer from backend", "app", e.route.App, "request_id", string(in.id), "err", lastErr)
	if isTimeout(lastErr) {
		return p.answer(e, last, in, l, http.StatusGatewayTimeout, "app "+e.route.App+": the instance did not answer in time", "")
	}
	return p.answer(e, last, in, l, http.StatusBadGateway, "app "+e.route.App+": the instance did not answer ("+reason(lastErr)+")", "")
}

// attemptOn makes one attempt through l, counted in flight on b while it
// lasts, whatever way it ends.
func attemptOn(l leg, e *routeEntry, b *backend, fresh bool) attemptResult {
	b.inflight.Add(1)
	defer b.inflight.Add(-1)
	return l.attempt(e, b, fresh)
}

// Statuses the access log records for requests that ended without a
// complete answer (nginx's convention for a client that left).
const (
	statusClientGone = 499
	statusAnswerCut  = 502
)

// answer writes one of the proxy's own pages and records it: in the access
// log, and in the metrics of b's release (the backend that failed), or of
// the app's proxy answers when no backend was tried.
func (p *Proxy) answer(e *routeEntry, b *backend, in *inbound, l leg, code int, msg, retryAfter string) bool {
	keep := l.page(code, msg, retryAfter)
	p.observe(e, b, in, code)
	return keep
}

// observe records one request's end in the metrics and the access log.
func (p *Proxy) observe(e *routeEntry, b *backend, in *inbound, status int) {
	d := time.Since(in.start)
	var s *releaseStats
	switch {
	case b != nil:
		s = b.stats.Load()
	case e != nil:
		s = e.proxyStats
	default:
		s = p.unrouted
	}
	if s != nil {
		s.observe(status, d)
	}
	if l := p.opts.AccessLog; l != nil {
		r := accessRecord{at: in.start, status: status, dur: d, method: in.method, target: in.target, id: in.id, client: in.client}
		if e != nil {
			r.app = e.route.App
		}
		if s != nil {
			r.release = s.release
		}
		l.record(&r)
	}
}

func tooLargeMsg(e *routeEntry) string {
	return "app " + e.route.App + " accepts request bodies of at most " + strconv.FormatInt(e.route.MaxBodyBytes, 10) + " bytes"
}

func isMaxBytes(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
