//go:build !unix

package h1

// peekIdle cannot look without blocking here: the connection is taken as
// open, and a failure on it is retried as on a stale connection.
func peekIdle(fd uintptr, buf []byte) IdleState { return IdleOpen }
