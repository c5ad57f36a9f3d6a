package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// FastServer serves a Proxy on plain-HTTP listeners. Ordinary HTTP/1.1
// requests take the fast path (fastconn.go): parsed into reused buffers,
// forwarded over kept-alive backend connections, no allocation, no extra
// goroutine. A connection whose request the fast path does not handle
// (HTTP/1.0, an upgrade such as WebSocket, Expect: 100-continue, unusual
// framing) is handed, with the bytes already read, to a net/http server
// running the same Proxy, and stays there.
type FastServer struct {
	p    *Proxy
	slow *http.Server
	// Scheme is what X-Forwarded-Proto says ("http").
	Scheme string

	IdleTimeout       time.Duration // between requests on a kept-alive connection (default 2m)
	ReadHeaderTimeout time.Duration // for a request head, and a new connection's first byte (default 10s)
	// RequestBodyTimeout bounds each read of a request body (default: the
	// Proxy's): a body that brings nothing for that long ends its request.
	RequestBodyTimeout time.Duration
	MaxHeaderBytes     int
	// Divert, if set, picks requests (by normalized host and target) that
	// the slow server's handler answers instead: their connection is handed
	// off.
	Divert func(host string, target []byte) bool

	idPrefix [16]byte
	ids      atomic.Uint64
	closing  atomic.Bool

	handoff *chanListener
	mu      sync.Mutex
	lns     []net.Listener
	conns   map[*fastConn]struct{}
	wg      sync.WaitGroup
}

// NewFastServer returns a server of p. slow serves the connections the fast
// path hands off; its timeouts apply to them, and its Handler is set to p.
func NewFastServer(p *Proxy, slow *http.Server) *FastServer {
	s := &FastServer{
		p: p, slow: slow, Scheme: "http",
		IdleTimeout: slow.IdleTimeout, ReadHeaderTimeout: slow.ReadHeaderTimeout, MaxHeaderBytes: slow.MaxHeaderBytes,
		conns: map[*fastConn]struct{}{},
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 2 * time.Minute
	}
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = 10 * time.Second
	}
	if s.MaxHeaderBytes <= 0 {
		s.MaxHeaderBytes = 1 << 20
	}
	if s.RequestBodyTimeout <= 0 {
		s.RequestBodyTimeout = p.opts.RequestBodyTimeout
	}
	slow.Handler = p
	var b [8]byte
	rand.Read(b[:])
	hex.Encode(s.idPrefix[:], b[:])
	s.handoff = newChanListener()
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *FastServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	first := len(s.lns) == 0
	s.lns = append(s.lns, ln)
	s.handoff.addr = ln.Addr()
	s.mu.Unlock()
	if first {
		go s.slow.Serve(s.handoff)
	}
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.serveConn(c)
	}
}

func (s *FastServer) serveConn(c net.Conn) {
	fc := newFastConn(s, c)
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[fc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		handedOff := fc.serve()
		s.mu.Lock()
		delete(s.conns, fc)
		s.mu.Unlock()
		if !handedOff {
			c.Close()
		}
	}()
}

// handOff gives c, and what was read of it, to the net/http server.
func (s *FastServer) handOff(c *fastConn) {
	buffered, _ := c.br.Peek(c.br.Buffered())
	pre := make([]byte, 0, len(c.req.Raw)+len(buffered))
	pre = append(append(pre, c.req.Raw...), buffered...)
	if !s.handoff.give(&prefixConn{Conn: c.conn, pre: pre}) {
		c.conn.Close()
	}
}

// Shutdown stops accepting, closes idle connections, lets requests in
// flight finish until ctx ends, then closes what is left.
func (s *FastServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for _, ln := range s.lns {
		ln.Close()
	}
	s.mu.Unlock()
	slowErr := make(chan error, 1)
	go func() { slowErr <- s.slow.Shutdown(ctx) }()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return <-slowErr
		case <-ctx.Done():
			s.mu.Lock()
			for fc := range s.conns {
				fc.conn.Close()
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// closeIdle wakes connections waiting for a next request, so they end.
func (s *FastServer) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for fc := range s.conns {
		if !fc.active.Load() {
			fc.conn.SetReadDeadline(time.Now())
		}
	}
}

// chanListener is a net.Listener fed by handOff.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// prefixConn replays bytes already read before reading the connection.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
