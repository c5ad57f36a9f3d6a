//go:build unix

package h1

import "syscall"

// peekIdle looks at what is waiting on socket fd, without blocking.
func peekIdle(fd uintptr, buf []byte) IdleState {
	for {
		n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return IdleOpen
		case err != nil, n == 0:
			return IdleClosed
		}
		return IdleDirty
	}
}
