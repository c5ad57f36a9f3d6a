package proxy

import (
	"net/http"
	"time"
)

// NewServer returns the http.Server for the apps' traffic on addr.
//
// It bounds what a client may hold without sending anything useful
// (ReadHeaderTimeout, IdleTimeout, MaxHeaderBytes) but sets no ReadTimeout
// or WriteTimeout: those bound a whole request or response, and would cut
// uploads, downloads, Server-Sent Events and WebSockets that stream for
// longer. Backends and clients end those; Drain bounds them at deploys.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
	}
}
