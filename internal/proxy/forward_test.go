package proxy

import (
	"bufio"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestForward_SetsXForwardedHeadersAndKeepsHost(t *testing.T) {
	b := startBackend(t, "b", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{b.backend()}})
	addr, c := serveProxy(t, p)

	hdr := http.Header{"X-Forwarded-For": {"6.6.6.6"}, "X-Request-Id": {"req-42.a:b"}}
	code, _, resp := do(t, c, http.MethodGet, addr, "app.test:8080", "/path?q=1", nil, hdr)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	r := b.lastRequest()
	for k, want := range map[string]string{
		"X-Forwarded-For":   "127.0.0.1", // a client's own claim is dropped
		"X-Forwarded-Host":  "app.test:8080",
		"X-Forwarded-Proto": "http",
		"X-Request-Id":      "req-42.a:b",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("backend got %s %q, want %q", k, got, want)
		}
	}
	if r.Host != "app.test:8080" || r.URL.RequestURI() != "/path?q=1" {
		t.Errorf("backend got host %q uri %q", r.Host, r.URL.RequestURI())
	}
	if resp.Get("X-Request-Id") != "req-42.a:b" {
		t.Errorf("response X-Request-ID %q", resp.Get("X-Request-Id"))
	}
}

func TestForward_ReplacesMissingOrOddRequestID(t *testing.T) {
	b := startBackend(t, "b", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{b.backend()}})
	addr, c := serveProxy(t, p)

	for _, in := range []string{"", "has space", strings.Repeat("x", 200), "<script>"} {
		hdr := http.Header{}
		if in != "" {
			hdr.Set("X-Request-ID", in)
		}
		do(t, c, http.MethodGet, addr, "app.test", "/", nil, hdr)
		id := b.lastRequest().Header.Get("X-Request-ID")
		if raw, err := hex.DecodeString(id); err != nil || len(raw) != 16 {
			t.Errorf("incoming %q: backend got X-Request-ID %q, want 32 hex digits", in, id)
		}
	}
}

func TestForward_BodyOverTheLimitGets413(t *testing.T) {
	b := startBackend(t, "b", echoBody)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{b.backend()}, MaxBodyBytes: 10})
	addr, c := serveProxy(t, p)

	if code, body, _ := do(t, c, http.MethodPost, addr, "app.test", "/", strings.NewReader("0123456789"), nil); code != 200 || body != "0123456789" {
		t.Fatalf("at the limit: %d %q", code, body)
	}
	code, body, _ := do(t, c, http.MethodPost, addr, "app.test", "/", strings.NewReader(strings.Repeat("x", 100)), nil)
	if code != 413 {
		t.Fatalf("declared length over the limit: status %d, want 413", code)
	}
	mustContain(t, body, "at most 10 bytes")
	hitsBefore := b.hits.Load()
	// A streamed (chunked) body is cut where it passes the limit.
	code, _, _ = do(t, c, http.MethodPost, addr, "app.test", "/", io.NopCloser(strings.NewReader(strings.Repeat("x", 100))), nil)
	if code != 413 {
		t.Fatalf("streamed body over the limit: status %d, want 413", code)
	}
	if b.hits.Load()-hitsBefore > 1 {
		t.Fatal("a body over the limit was retried")
	}
}

func TestForward_UpgradePassesBytesBothWays(t *testing.T) {
	echo := startBackend(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.Copy(conn, brw)
	})
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{echo.backend()}})
	addr, _ := serveProxy(t, p)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	for _, msg := range []string{"ping", "hello, upgraded world"} {
		io.WriteString(conn, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo: %q, %v; want %q", got, err, msg)
		}
	}
	if n := status(t, p, "app", echo.addr).InFlight; n != 1 {
		t.Fatalf("in flight during the session = %d, want 1", n)
	}
	conn.Close()
	eventually(t, 5*time.Second, "the session to leave in flight", func() bool {
		return status(t, p, "app", echo.addr).InFlight == 0
	})
}
