package proxy

import (
	"errors"
	"io"
	"sync"
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

// read reports whether a byte (or an error) was read: no retry then.
func (b *replayBody) read() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.consumed
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
