package proxy

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// errAttemptOver is what an abandoned attempt reads from the request body.
var errAttemptOver = errors.New("request body moved to a retry")

// replayBody streams an incoming request body to one attempt after
// another, without buffering it: a retry gets the body only while no byte
// of it has been read. The server closes the incoming body when the
// handler returns, so the attempts' Close does not.
type replayBody struct {
	mu       sync.Mutex // held across each Read, so a late read of an old attempt is seen
	src      io.Reader
	consumed bool         // a byte, or an error, was read: no retry
	readErr  error        // the first error other than io.EOF reading src
	owner    *attemptBody // the only attempt allowed to read
}

func newReplayBody(src io.Reader) *replayBody {
	return &replayBody{src: src}
}

// attempt returns the body for the next attempt, or false when bytes were
// already read and the request cannot be sent again.
func (b *replayBody) attempt() (*attemptBody, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.consumed {
		return nil, false
	}
	a := &attemptBody{parent: b}
	b.owner = a
	return a, true
}

// err returns the first error reading the incoming body (such as
// *http.MaxBytesError), if any.
func (b *replayBody) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readErr
}

// attemptBody is one attempt's view of a replayBody.
type attemptBody struct {
	parent *replayBody
}

func (a *attemptBody) Read(p []byte) (int, error) {
	b := a.parent
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.owner != a {
		return 0, errAttemptOver
	}
	n, err := b.src.Read(p)
	if n > 0 || (err != nil && err != io.EOF) {
		b.consumed = true
	}
	if err != nil && err != io.EOF && b.readErr == nil {
		b.readErr = err
	}
	return n, err
}

// Close is a no-op: http.Transport closes a request body when an attempt
// fails, which must not end the next attempt.
func (a *attemptBody) Close() error { return nil }

// countedBody is a response body that keeps its request counted as in
// flight on its backend until it is closed, so streams count too.
type countedBody struct {
	io.ReadCloser
	b      *backend
	status int
	start  time.Time
	once   sync.Once
}

func (c *countedBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, context.Canceled) {
		c.b.fail("read response: " + err.Error())
	}
	return n, err
}

func (c *countedBody) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(func() {
		c.b.inflight.Add(-1)
		metrics{}.observe(nil, c.b, c.status, time.Since(c.start))
	})
	return err
}

// countedConn is countedBody for a 101 Switching Protocols response, whose
// body is the backend connection: it stays an io.ReadWriteCloser, which
// httputil.ReverseProxy needs to pass an upgraded connection through.
type countedConn struct {
	countedBody
	w io.Writer
}

func (c *countedConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Read does not count errors: an upgraded connection ends with one.
func (c *countedConn) Read(p []byte) (int, error) { return c.ReadCloser.Read(p) }

// countBody wraps a response body from b, answered with status to a
// request sent at start: when it closes, the request leaves b's in-flight
// count and enters its release's measurements.
func countBody(body io.ReadCloser, b *backend, status int, start time.Time) io.ReadCloser {
	if rw, ok := body.(io.ReadWriteCloser); ok {
		return &countedConn{countedBody: countedBody{ReadCloser: body, b: b, status: status, start: start}, w: rw}
	}
	return &countedBody{ReadCloser: body, b: b, status: status, start: start}
}
