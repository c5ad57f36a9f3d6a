//go:build unix

package proxy

import "syscall"

// peekIdle looks at what is waiting on socket fd, without blocking.
func peekIdle(fd uintptr, buf []byte) idleState {
	for {
		n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return idleOpen
		case err != nil, n == 0:
			return idleClosed
		}
		return idleDirty
	}
}
