package h1

import (
	"net"
	"syscall"
)

// IdleState is what a look at an idle backend connection found.
type IdleState uint8

const (
	IdleOpen   IdleState = iota // open, nothing waiting: safe to send a request on
	IdleClosed                  // the backend closed it (or it broke)
	IdleDirty                   // bytes arrived that no request asked for
)

// Probe looks at an idle connection without blocking and without
// consuming anything (recv with MSG_PEEK|MSG_DONTWAIT): one system call,
// made just before a request is written on a kept-alive connection, so a
// connection the backend closed meanwhile is never used, and one on which
// it wrote an answer nobody asked for never hands that answer to the next
// client. Its callback is made once, so a probe costs no allocation.
type Probe struct {
	raw    syscall.RawConn // nil: the connection cannot be probed
	result IdleState
	buf    [1]byte
	fn     func(fd uintptr)
}

// Init readies the probe of c (a socket; anything else reads as open).
func (p *Probe) Init(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.raw = raw
	p.fn = func(fd uintptr) { p.result = peekIdle(fd, p.buf[:]) }
}

// State probes the connection.
func (p *Probe) State() IdleState {
	if p.raw == nil {
		return IdleOpen // not a socket (tests' pipes): nothing to look at
	}
	if err := p.raw.Control(p.fn); err != nil {
		return IdleClosed
	}
	return p.result
}
