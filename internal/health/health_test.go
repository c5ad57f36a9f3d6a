package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server starts an httptest server on 127.0.0.1 whose /healthz answers the
// status held in code; it returns the server's host:port.
func server(t *testing.T, code *atomic.Int32) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		c := int(code.Load())
		if c >= 300 && c < 400 {
			http.Redirect(w, r, "/elsewhere", c)
			return
		}
		w.WriteHeader(c)
		_, _ = w.Write([]byte("database   down\n"))
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestCheck_HealthyOn2xxAnd3xx(t *testing.T) {
	var code atomic.Int32
	addr := server(t, &code)
	p := Probe{Path: "/healthz", Timeout: time.Second}
	for _, c := range []int32{200, 204, 302} {
		code.Store(c)
		if err := p.Check(context.Background(), addr); err != nil {
			t.Errorf("status %d: %v", c, err)
		}
	}
}

func TestCheck_ErrorNamesStatus(t *testing.T) {
	var code atomic.Int32
	code.Store(500)
	addr := server(t, &code)
	err := Probe{Path: "healthz", Client: NewClient()}.Check(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), "status 500") || !strings.Contains(err.Error(), "database down") {
		t.Fatalf("err = %v, want the status and the body's start", err)
	}
	code.Store(404)
	if err := (Probe{Path: "/missing"}).Check(context.Background(), addr); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want 404", err)
	}
}

func TestCheck_ErrorNamesConnectError(t *testing.T) {
	err := Probe{Path: "/healthz"}.Check(context.Background(), closedAddr(t))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want connection refused", err)
	}
}

func TestCheck_TimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	err := Probe{Path: "/", Timeout: 50 * time.Millisecond}.Check(context.Background(), srv.Listener.Addr().String())
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("timeout not honoured")
	}
}

func TestWaitHealthy_NeedsThresholdSuccessesInARow(t *testing.T) {
	var code atomic.Int32
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		// fail, pass, fail, then pass for good
		if n == 1 || n == 3 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(int(code.Load()))
	}))
	defer srv.Close()
	code.Store(200)
	err := WaitHealthy(context.Background(), Probe{Path: "/healthz"}, srv.Listener.Addr().String(),
		5*time.Millisecond, 3, 10*time.Second, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := hits.Load(); got != 6 {
		t.Fatalf("checks = %d, want 6 (3 in a row after the last failure)", got)
	}
}

func TestWaitHealthy_DeadlineNamesLastCheck(t *testing.T) {
	var code atomic.Int32
	code.Store(500)
	addr := server(t, &code)
	err := WaitHealthy(context.Background(), Probe{Path: "/healthz"}, addr, 10*time.Millisecond, 1, 100*time.Millisecond, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	if !strings.HasPrefix(err.Error(), "not healthy after 100ms: last check: ") || !strings.Contains(err.Error(), "status 500") {
		t.Fatalf("err = %q", err)
	}
	if got := seconds(60 * time.Second); got != "60s" {
		t.Fatalf("seconds(60s) = %q", got)
	}
}

func TestWaitHealthy_ReturnsAtOnceWhenInstanceExits(t *testing.T) {
	exited := errors.New("instance exited with status 1")
	var calls atomic.Int32
	alive := func() error {
		if calls.Add(1) >= 2 {
			return exited
		}
		return nil
	}
	start := time.Now()
	err := WaitHealthy(context.Background(), Probe{Path: "/healthz"}, closedAddr(t), time.Hour, 1, time.Hour, alive)
	if !errors.Is(err, exited) {
		t.Fatalf("err = %v, want %v", err, exited)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("did not return at once")
	}
}

func TestWaitHealthy_StopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := WaitHealthy(ctx, Probe{}, closedAddr(t), 10*time.Millisecond, 1, time.Hour, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
