package h1

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// bufSize is the read and write buffer of a backend connection.
const bufSize = 8 << 10

// Conn is one connection to a backend, with its buffers, kept alive
// between requests in a Pool.
type Conn struct {
	// Counted is the connection; it counts what is written to it.
	Counted *CountingConn
	BR      *bufio.Reader
	BW      *bufio.Writer
	// Reused is set when the connection served a request before this one.
	Reused    bool
	idleSince time.Time
	probe     Probe
}

// NewConn wraps a connection made to a backend (raw is the socket, for
// the probe before each reuse) whose writes c counts.
func NewConn(c *CountingConn, raw net.Conn) *Conn {
	u := &Conn{Counted: c, BR: bufio.NewReaderSize(c, bufSize), BW: bufio.NewWriterSize(c, bufSize)}
	u.probe.Init(raw)
	return u
}

// Close closes the connection.
func (u *Conn) Close() error { return u.Counted.Close() }

// CountingConn counts the bytes written to a backend connection, which is
// how a request knows whether any of it went out. A Pool tracks it from
// Track until it is closed.
type CountingConn struct {
	net.Conn
	Written atomic.Int64
	pool    *Pool
	once    sync.Once
}

// Close closes the connection and forgets it in its pool.
func (c *CountingConn) Close() error {
	c.once.Do(func() {
		if c.pool != nil {
			c.pool.untrack(c)
		}
	})
	return c.Conn.Close()
}

func (c *CountingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.Written.Add(int64(n))
	return n, err
}
