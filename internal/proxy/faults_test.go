package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A WebSocket-style session through a backend that leaves the route lives
// on while Drain waits, and is closed at Drain's deadline, so that its
// client reconnects, to the new backend.
func TestFaults_UpgradedSessionIsDrainedThenClosedAtTheDeadline(t *testing.T) {
	echo := startBackend(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		io.Copy(conn, brw)
	})
	fresh := startBackend(t, "fresh", nil)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{echo.backend()}})
	addr, c := serveProxy(t, p)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{fresh.backend()}})

	drained := make(chan int64, 1)
	go func() {
		n, _ := p.Drain(context.Background(), []string{echo.addr}, 500*time.Millisecond)
		drained <- n
	}()
	// Within the drain, the session still works.
	io.WriteString(conn, "ping")
	got := make([]byte, 4)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo during the drain: %q %v", got, err)
	}
	if n := <-drained; n != 1 {
		t.Fatalf("drain left %d sessions, want 1", n)
	}
	// At the deadline it is closed.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the session is still open after the drain deadline")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the session was not closed at the drain deadline")
	}
	if code, body := get(t, c, addr, "app.test", "/"); code != 200 || body != "fresh" {
		t.Fatalf("reconnect: %d %q", code, body)
	}
}

// A backend that keeps answering 5xx while another is fine is ejected
// after passiveEjectAfter answers in a row; the last healthy one never is.
func TestFaults_PassiveEjectionAfterConsecutive5xx(t *testing.T) {
	bad := startBackend(t, "bad", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	good := startBackend(t, "good", nil)
	bad.healthCode.Store(500) // its health check fails too, so it stays out
	p := newTestProxy(t, Options{})
	h := Health{Path: "/healthz", Interval: time.Hour, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1000}
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{bad.backend(), good.backend()}, Health: h})
	addr, c := serveProxy(t, p)
	eventually(t, 5*time.Second, "the health loops to start", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.reg[bad.addr].checked.Load()
	})
	fails := 0
	for i := 0; i < 40; i++ {
		if code, _ := get(t, c, addr, "app.test", "/"); code == 500 {
			fails++
		}
	}
	if fails != passiveEjectAfter {
		t.Fatalf("%d requests got the bad backend's 500, want exactly %d before it was ejected", fails, passiveEjectAfter)
	}
	if st := status(t, p, "app", bad.addr); st.Healthy {
		t.Fatal("the failing backend is still in the pool")
	}

	// Alone in its route, a failing backend is not ejected: its answers
	// are the app's answers.
	alone := newTestProxy(t, Options{})
	setRoute(t, alone, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{bad.backend()}, Health: h})
	addr2, c2 := serveProxy(t, alone)
	for i := 0; i < 20; i++ {
		if code, _ := get(t, c2, addr2, "app.test", "/"); code != 500 {
			t.Fatalf("request %d: %d, want the app's own 500", i, code)
		}
	}
}
