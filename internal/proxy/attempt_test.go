package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// accessLines parses the JSON lines of an access log.
func accessLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("access log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// Every answer the proxy gives itself, on either path, is a line of the
// access log and a count in the metrics, like a backend's answer.
func TestAttempts_TheProxysOwnAnswersAreLoggedAndCountedOnBothPaths(t *testing.T) {
	for _, path := range servingPaths {
		t.Run(path.name, func(t *testing.T) {
			var out syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			log := NewAccessLog(ctx, &out)
			p := newTestProxy(t, Options{AccessLog: log, DialTimeout: time.Second})
			be := startBackend(t, "b", nil)
			setRoute(t, p, Route{App: "up", Hosts: []string{"up.test"}, Backends: []Backend{{ID: "b", Addr: be.addr, Release: 3}}, MaxBodyBytes: 4})
			setRoute(t, p, Route{App: "down", Hosts: []string{"down.test"}, Backends: []Backend{{ID: "d", Addr: closedAddr(t), Release: 5}}})
			setRoute(t, p, Route{App: "off", Hosts: []string{"off.test"}, Maintenance: true})
			addr, c := serveProxy(t, path.handler(p))

			for _, r := range []struct {
				host, method, body string
				want               int
			}{
				{"up.test", "GET", "", 200},
				{"nowhere.test", "GET", "", 404},
				{"off.test", "GET", "", 503},
				{"down.test", "GET", "", 502},
				{"up.test", "POST", "too long", 413},
			} {
				var body io.Reader
				if r.body != "" {
					body = strings.NewReader(r.body)
				}
				if code, _, _ := do(t, c, r.method, addr, r.host, "/x", body, nil); code != r.want {
					t.Fatalf("%s %s: %d, want %d", r.method, r.host, code, r.want)
				}
			}
			time.Sleep(50 * time.Millisecond)
			cancel()
			log.Wait()
			lines := accessLines(t, out.String())
			got := map[string]float64{}
			for _, l := range lines {
				got[fmt.Sprint(l["app"])] = l["status"].(float64)
			}
			want := map[string]float64{"up": 413, "": 404, "off": 503, "down": 502}
			if len(lines) != 5 {
				t.Fatalf("%d access log lines for 5 requests:\n%s", len(lines), out.String())
			}
			for app, status := range want {
				if got[app] != status {
					t.Errorf("access log of app %q: status %v, want %v\n%s", app, got[app], status, out.String())
				}
			}

			ms, _ := p.Metrics(context.Background(), "")
			counted := map[string]int64{}
			for _, m := range ms {
				counted[fmt.Sprintf("%s/%d", m.App, m.Release)] += m.Requests
			}
			for k, n := range map[string]int64{"up/3": 1, "up/0": 1, "/0": 1, "off/0": 1, "down/5": 1} {
				if counted[k] != n {
					t.Errorf("metrics %s: %d requests, want %d (all: %v)", k, counted[k], n, counted)
				}
			}
		})
	}
}

func TestAttempts_ABackendSilentPastTheResponseHeaderTimeoutIs504AndNotRetried(t *testing.T) {
	for _, path := range servingPaths {
		t.Run(path.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			slow := startBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
			p := newTestProxy(t, Options{ResponseHeaderTimeout: 200 * time.Millisecond})
			setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{slow.backend()}})
			addr, c := serveProxy(t, path.handler(p))
			start := time.Now()
			code, body := get(t, c, addr, "app.test", "/")
			if code != http.StatusGatewayTimeout || !strings.Contains(body, "did not answer in time") {
				t.Fatalf("%d %q, want 504", code, body)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("answered after %s: retried", d)
			}
			if n := slow.hits.Load(); n != 1 {
				t.Fatalf("the backend got %d requests, want 1 (a timed-out request is not sent again)", n)
			}
		})
	}
}

func TestFastServer_ANewConnectionThatSendsNothingIsClosedAfterTheHeadTimeout(t *testing.T) {
	p := newTestProxy(t, Options{})
	slow := NewServer("", p)
	slow.ReadHeaderTimeout = 300 * time.Millisecond // IdleTimeout stays 2 min
	conn, err := net.Dial("tcp", serveFast(t, NewFastServer(p, slow)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read: %v, want the proxy to close the connection", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %s, want about the 300ms head timeout", d)
	}
}

func TestFastServer_AStalledRequestBodyEndsItsRequest(t *testing.T) {
	stalledBodyEnds(t, "HTTP/1.1")
}

// stalledBodyEnds sends a POST whose body stops after 10 of its 100 bytes,
// in proto (HTTP/1.1: the fast path; HTTP/1.0: net/http's), and expects the
// request to end at the 300 ms body timeout, nothing left in flight.
func stalledBodyEnds(t *testing.T, proto string) {
	t.Helper()
	be := startBackend(t, "b", nil) // reads the whole body
	p := newTestProxy(t, Options{RequestBodyTimeout: 300 * time.Millisecond})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{be.backend()}})
	addr, _ := serveProxy(t, p)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST / "+proto+"\r\nHost: app.test\r\nContent-Length: 100\r\n\r\nonly ten b")
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, conn)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the stalled body held its request for %s, want about 300ms", d)
	}
	eventually(t, 2*time.Second, "no request in flight", func() bool { return status(t, p, "app", be.addr).InFlight == 0 })
}

func TestFastPath_AHugeHeadDoesNotStayWithAnIdleConnection(t *testing.T) {
	var fc fastConn
	fc.req.Raw = make([]byte, 0, 1<<20)
	fc.req.Shrink()
	if cap(fc.req.Raw) != 0 {
		t.Fatalf("a 1 MiB head buffer kept after the request: cap %d", cap(fc.req.Raw))
	}
	small := make([]byte, 0, 4<<10)
	fc.req.Raw = small
	fc.req.Shrink()
	if cap(fc.req.Raw) != 4<<10 {
		t.Fatalf("a small head buffer was dropped: cap %d, want it reused", cap(fc.req.Raw))
	}
}

func TestFastPath_AHeaderLineLongerThanTheReadBufferIsForwarded(t *testing.T) {
	addr, _, be := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, fmt.Sprint(len(r.Header.Get("Cookie"))))
	})
	cookie := "session=" + strings.Repeat("c", 20<<10)
	out := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: app.test\r\nCookie: "+cookie+"\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.HasSuffix(out, fmt.Sprint(len(cookie))) || be.hits.Load() != 1 {
		t.Fatalf("a 20 KiB cookie: %.200q", out)
	}
}

func TestFastPath_ARequestWhoseClientLeftIsNoLongerInFlight(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := startBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{slow.backend()}})
	addr, _ := serveProxy(t, p)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n")
	eventually(t, 2*time.Second, "the request in flight", func() bool { return status(t, p, "app", slow.addr).InFlight == 1 })
	conn.Close() // the client gives up
	// A drain would wait for it otherwise, until its timeout.
	eventually(t, 3*time.Second, "the request of a client that left to end", func() bool { return status(t, p, "app", slow.addr).InFlight == 0 })
	if n, err := p.Drain(context.Background(), []string{slow.addr}, 10*time.Second); n != 0 || err != nil {
		t.Fatalf("drain: %d left, %v", n, err)
	}
}

func TestNetHTTPPath_AStalledRequestBodyEndsItsRequest(t *testing.T) {
	stalledBodyEnds(t, "HTTP/1.0") // handed to net/http
}

func TestNetHTTPPath_ABodyReadInTimeLeavesTheAnswerAllTheTimeItTakes(t *testing.T) {
	be := startBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(800 * time.Millisecond) // longer than the body timeout
		io.WriteString(w, "late but whole")
	})
	p := newTestProxy(t, Options{RequestBodyTimeout: 300 * time.Millisecond})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{be.backend()}})
	addr, _ := serveProxy(t, p)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST / HTTP/1.0\r\nHost: app.test\r\nContent-Length: 3\r\n\r\nabc")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(conn)
	if !strings.Contains(string(out), "200 OK") || !strings.HasSuffix(string(out), "late but whole") {
		t.Fatalf("answer:\n%s", out)
	}
}

func TestFastPath_ABackendSlowerThanTheClientTimeoutsStillAnswers(t *testing.T) {
	be := startBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(800 * time.Millisecond) // longer than the client's head and idle timeouts
		io.WriteString(w, "late but whole")
	})
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{be.backend()}})
	slow := NewServer("", p)
	slow.ReadHeaderTimeout, slow.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
	conn, err := net.Dial("tcp", serveFast(t, NewFastServer(p, slow)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range 2 { // a new connection, then a kept-alive one
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "late but whole" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
}
