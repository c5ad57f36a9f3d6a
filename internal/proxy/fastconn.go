package proxy

import (
	"github.com/nonstopdev/nonstop/internal/proxy/h1"

	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// fastConn is one client connection on the fast path: HTTP/1.1 requests
// read into reused buffers and forwarded to kept-alive backend connections,
// one at a time, without allocating.
type fastConn struct {
	s    *FastServer
	conn net.Conn
	in   clientReader
	br   *bufio.Reader // reads in
	bw   *bufio.Writer
	req  h1.Head
	resp h1.Head

	clientIP []byte
	hostBuf  []byte // the normalized host of the current request
	idBuf    [32]byte
	id       []byte      // the current request's X-Request-ID
	inb      inbound     // the current request, for the attempt loop
	probe    h1.Probe    // looks whether the client left, while a backend thinks
	active   atomic.Bool // a request is being served (not waiting for the next)
	// bodyStarted: a byte of the request body was read (no retry then);
	// bodyDone: the body is all read (or there is none).
	bodyStarted, bodyDone bool
}

func newFastConn(s *FastServer, c net.Conn) *fastConn {
	fc := &fastConn{s: s, conn: c, bw: bufio.NewWriterSize(c, 8<<10)}
	fc.in = clientReader{conn: c, bodyTimeout: s.RequestBodyTimeout}
	fc.br = bufio.NewReaderSize(&fc.in, 8<<10)
	fc.probe.Init(c)
	if tcp, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		fc.clientIP = []byte(tcp.IP.String())
	}
	return fc
}

// serve handles requests until the client leaves, asks to close, or the
// connection is handed to net/http. It reports whether it handed it off
// (then the connection is no longer its to close).
func (c *fastConn) serve() (handedOff bool) {
	// A new connection gets the head's timeout for its first byte, not
	// the idle one of a connection that has served requests.
	wait := c.s.ReadHeaderTimeout
	for {
		if c.s.closing.Load() {
			return false
		}
		c.conn.SetReadDeadline(time.Now().Add(wait))
		wait = c.s.IdleTimeout
		if _, err := c.br.Peek(1); err != nil {
			return false
		}
		c.active.Store(true)
		// Deadlines cost a timer update each: set the head's only when the
		// head is not all here yet; a body's reads set their own (see
		// clientReader); nothing else is read from the client until the
		// next request, which sets its own.
		if !headBuffered(c.br) {
			c.conn.SetReadDeadline(time.Now().Add(c.s.ReadHeaderTimeout))
		}
		err := c.req.ReadRequest(c.br, c.s.MaxHeaderBytes)
		switch {
		case errors.Is(err, h1.ErrHeadTooLarge):
			c.answerRaw(http.StatusRequestHeaderFieldsTooLarge, "request head too large")
			return false
		case err != nil && len(c.req.Raw) == 0:
			return false // the client left, or sent nothing in time
		case err != nil:
			c.answerRaw(http.StatusBadRequest, "malformed request")
			return false
		case c.req.Ambiguous():
			c.answerRaw(http.StatusBadRequest, "both Content-Length and Transfer-Encoding")
			return false
		}
		method, target, ok := c.req.Request()
		if !ok {
			c.conn.SetReadDeadline(time.Time{}) // net/http sets its own
			// HTTP/1.0, upgrades, Expect, odd framing, absolute targets:
			// rare, and net/http knows them all.
			c.s.handOff(c)
			return true
		}
		if c.s.Divert != nil && c.s.Divert(string(c.normalizedHost()), target) {
			c.conn.SetReadDeadline(time.Time{})
			c.s.handOff(c)
			return true
		}
		c.id = c.requestID()
		keep := c.proxy(method, target)
		c.in.inBody = false
		c.req.Shrink()
		c.resp.Shrink()
		c.active.Store(false)
		if !keep {
			return false
		}
	}
}

// clientReader reads a client connection. While a request body is read,
// each read must bring bytes within bodyTimeout: a body that stalls ends
// the request instead of holding a backend connection for good.
type clientReader struct {
	conn        net.Conn
	bodyTimeout time.Duration
	inBody      bool
}

func (r *clientReader) Read(p []byte) (int, error) {
	if r.inBody {
		r.conn.SetReadDeadline(time.Now().Add(r.bodyTimeout))
	}
	return r.conn.Read(p)
}

// answerRaw writes a minimal error response before the connection closes,
// and lingers a moment, reading what the client still sends, so that the
// close does not reset the connection before the client reads the answer.
func (c *fastConn) answerRaw(code int, msg string) {
	c.s.p.observe(nil, nil, &inbound{id: c.requestID(), client: c.clientIP, start: time.Now()}, code)
	c.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(msg)+1) + "\r\n\r\n" + msg + "\n")
	if c.bw.Flush() != nil {
		return
	}
	if tcp, ok := c.conn.(*net.TCPConn); ok {
		tcp.CloseWrite()
	}
	c.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.CopyN(io.Discard, c.conn, 4<<20)
}

// requestID returns the request's X-Request-ID if sane, else a new one:
// the process's random prefix and a counter, so it costs no syscall. It is
// called once per request; c.id keeps the result.
func (c *fastConn) requestID() []byte {
	if r := c.req.RequestID; r[1] != 0 && saneRequestID(c.req.Bytes(r)) {
		return c.req.Bytes(r)
	}
	n := c.s.ids.Add(1)
	copy(c.idBuf[:16], c.s.idPrefix[:])
	const hexdigits = "0123456789abcdef"
	for i := 31; i >= 16; i-- {
		c.idBuf[i] = hexdigits[n&15]
		n >>= 4
	}
	return c.idBuf[:]
}

// normalizedHost lowercases the Host header and strips its port, into a
// buffer of the connection's.
func (c *fastConn) normalizedHost() []byte {
	h := c.req.Bytes(c.req.Host)
	if i := bytes.LastIndexByte(h, ':'); i >= 0 && !bytes.Contains(h[i:], []byte("]")) {
		h = h[:i]
	}
	h = bytes.TrimSuffix(bytes.TrimSuffix(bytes.TrimPrefix(h, []byte("[")), []byte("]")), []byte("."))
	c.hostBuf = append(c.hostBuf[:0], h...)
	for i, ch := range c.hostBuf {
		if 'A' <= ch && ch <= 'Z' {
			c.hostBuf[i] = ch + 'a' - 'A'
		}
	}
	return c.hostBuf
}

// headBuffered reports whether a whole request head is already buffered.
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.Contains(b, []byte("\r\n\r\n"))
}
