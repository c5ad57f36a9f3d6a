package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fast path against app servers nobody here wrote: Python's standard
// http.server (Debian's python3), with its HTTP/1.0 default and with
// HTTP/1.1 keep-alive, behind the proxy as the daemon serves it.

// debianPython is Debian's interpreter: the one `apt-get install python3`
// gives, whatever else is first in PATH.
const debianPython = "/usr/bin/python3"

// pageServer is a handler of Python's http.server answering "page PATH"
// to every GET, in the HTTP version given. Like every BaseHTTPRequestHandler
// it never reads a GET's body.
const pageServer = `
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = sys.argv[2]
    def do_GET(self):
        body = ("page " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
`

// startPython runs a Python program given its port as first argument, and
// returns its address once it accepts connections.
func startPython(t *testing.T, program string, args ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "server.py")
	if err := os.WriteFile(file, []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	return startDebianPython(t, func(port string) []string { return append([]string{file, port}, args...) })
}

// startDebianPython runs Debian's python3 with the arguments for a free
// port, and returns its address once it accepts connections. It fails the
// test, saying what is missing, without Debian's python3.
func startDebianPython(t *testing.T, argv func(port string) []string) string {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("Debian's python3 is missing (%v): run `make deps` or `apt-get install python3`", err)
	}
	addr := closedAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(debianPython, argv(port)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	eventually(t, 10*time.Second, "python's server to listen on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// proxyTo serves one app whose backends are addrs (release 1) and returns
// the proxy's address and the Proxy.
func proxyTo(t *testing.T, addrs ...string) (string, *Proxy) {
	t.Helper()
	p := newTestProxy(t, Options{})
	var bs []Backend
	for i, a := range addrs {
		bs = append(bs, Backend{ID: fmt.Sprint("b", i), Addr: a, Release: 1})
	}
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: bs})
	addr, _ := serveProxy(t, p)
	return addr, p
}

// hammer sends n GETs of path(i) from workers clients on keep-alive
// connections, and returns the answers that were not want(i).
func hammer(t *testing.T, addr string, workers, n int, path func(i int) string, want func(i int, body string) bool) []string {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var next atomic.Int64
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
				req, _ := http.NewRequest("GET", "http://"+addr+path(i), nil)
				req.Host = "app.test"
				resp, err := client.Do(req)
				var body string
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					body = fmt.Sprintf("%d %s", resp.StatusCode, b)
				} else {
					body = err.Error()
				}
				if err != nil || !want(i, body) {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("request %d: %s", i, body))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return bad
}

func pageOf(path string) func(int, string) bool {
	return func(_ int, body string) bool { return body == "200 page "+path }
}

func connErrors(t *testing.T, p *Proxy) int64 {
	t.Helper()
	ms, err := p.Metrics(context.Background(), "app")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, m := range ms {
		n += m.ConnErrors
	}
	return n
}

func TestAppServers_PythonHTTP10ClosesAfterEachAnswerAndNoRequestFails(t *testing.T) {
	// `python3 -m http.server` as users run it: HTTP/1.0, a close after
	// every answer, a listen backlog of 5.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello from a folder"), 0o644)
	addr := startDebianPython(t, func(port string) []string {
		return []string{"-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, port}
	})
	paddr, p := proxyTo(t, addr)
	bad := hammer(t, paddr, 4, 600, func(int) string { return "/" }, func(_ int, body string) bool { return body == "200 hello from a folder" })
	if len(bad) != 0 {
		t.Fatalf("%d of 600 requests failed, first: %v", len(bad), bad[0])
	}
	if n := connErrors(t, p); n != 0 {
		t.Fatalf("%d connection errors counted for a backend that answered every request", n)
	}
}

func TestAppServers_PythonHTTP11KeepAliveServesEveryClientItsOwnAnswer(t *testing.T) {
	paddr, p := proxyTo(t, startPython(t, pageServer, "HTTP/1.1"))
	bad := hammer(t, paddr, 4, 600, func(i int) string { return fmt.Sprintf("/p%d", i) },
		func(i int, body string) bool { return body == fmt.Sprintf("200 page /p%d", i) })
	if len(bad) != 0 {
		t.Fatalf("%d of 600 requests failed, first: %v", len(bad), bad[0])
	}
	if n := connErrors(t, p); n != 0 {
		t.Fatalf("%d connection errors", n)
	}
}

func TestAppServers_AGETBodyHoldingASecondRequestReachesNoOtherClient(t *testing.T) {
	// The attack: a GET whose body is a second request. Python's server
	// does not read GET bodies, so it answers the body as the next request
	// on that connection; a proxy that reused the connection would give
	// that answer to the next client.
	paddr, _ := proxyTo(t, startPython(t, pageServer, "HTTP/1.1"))
	smuggled := "GET /attacker HTTP/1.1\r\nHost: app.test\r\n\r\n"
	attack := fmt.Sprintf("GET /innocent HTTP/1.1\r\nHost: app.test\r\nContent-Length: %d\r\n\r\n%s", len(smuggled), smuggled)
	stop := make(chan struct{})
	var attacks atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := net.Dial("tcp", paddr)
			if err != nil {
				continue
			}
			io.WriteString(c, attack)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			c.Close()
			attacks.Add(1)
		}
	}()
	users := []string{"alice", "bob", "carol"}
	bad := hammer(t, paddr, 3, 900, func(i int) string { return "/account?session=" + users[i%3] },
		func(i int, body string) bool { return body == "200 page /account?session="+users[i%3] })
	close(stop)
	wg.Wait()
	if attacks.Load() == 0 {
		t.Fatal("the attacker sent nothing")
	}
	if len(bad) != 0 {
		t.Fatalf("%d of 900 victims got another answer than theirs (%d attacks), first: %v", len(bad), attacks.Load(), bad[0])
	}
}

func TestAppServers_ABackendWritingAnAnswerNobodyAskedForShiftsNoClient(t *testing.T) {
	// A raw backend that, after each answer, writes one more.
	addr := rawServer(t, func(c net.Conn, br *bufio.Reader) bool {
		req, err := http.ReadRequest(br)
		if err != nil {
			return false
		}
		body := "page " + req.URL.RequestURI()
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		_, err = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nunwanted!")
		return err == nil
	})
	paddr, _ := proxyTo(t, addr)
	bad := hammer(t, paddr, 4, 400, func(i int) string { return fmt.Sprintf("/p%d", i) },
		func(i int, body string) bool { return body == fmt.Sprintf("200 page /p%d", i) })
	if len(bad) != 0 {
		t.Fatalf("%d of 400 clients got another answer than theirs, first: %v", len(bad), bad[0])
	}
}

func TestAppServers_ABackendWithAShortIdleTimeoutCostsNoRequest(t *testing.T) {
	// A Go server that closes idle connections after 300 ms, less than the
	// proxy's own 1 s: requests spaced around that time race its closes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{IdleTimeout: 300 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "short")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	paddr, p := proxyTo(t, ln.Addr().String())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i, pause := range []time.Duration{0, 290, 300, 310, 320, 400, 280, 305, 500, 299, 301} {
		time.Sleep(pause * time.Millisecond)
		req, _ := http.NewRequest("GET", "http://"+paddr+"/", nil)
		req.Host = "app.test"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d after %d ms: %v", i, pause, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "short" {
			t.Fatalf("request %d after %d ms: %d %q", i, pause, resp.StatusCode, b)
		}
	}
	if n := connErrors(t, p); n != 0 {
		t.Fatalf("%d connection errors counted for connections the backend closed while idle", n)
	}
}
