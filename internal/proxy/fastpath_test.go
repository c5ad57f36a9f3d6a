package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawExchange sends raw bytes to the proxy on one connection and returns
// what it answers until the connection closes or idles for a moment.
func rawExchange(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Written aside: the proxy may answer (and close) before all is sent.
	go io.WriteString(c, request)
	var out strings.Builder
	buf := make([]byte, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String()
		}
	}
}

func fastFixture(t *testing.T, h http.HandlerFunc) (addr string, client *http.Client, be *testBackend) {
	t.Helper()
	be = startBackend(t, "b", h)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{{ID: "b", Addr: be.addr, Release: 1}}})
	addr, client = serveProxy(t, p)
	return addr, client, be
}

func TestFastPath_ChunkedBodiesPassBothWays(t *testing.T) {
	addr, _, _ := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.(http.Flusher).Flush() // no Content-Length: the answer is chunked
		fmt.Fprintf(w, "got %d bytes, te=%v", len(b), r.TransferEncoding)
	})
	out := rawExchange(t, addr, "POST /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
	if !strings.Contains(out, "HTTP/1.1 200 OK") || !strings.Contains(out, "Transfer-Encoding: chunked") || !strings.Contains(out, "got 11 bytes, te=[chunked]") {
		t.Fatalf("answer:\n%s", out)
	}
}

func TestFastPath_KeepAliveAndPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	addr, _, _ := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.URL.Path)
	})
	out := rawExchange(t, addr, "GET /one HTTP/1.1\r\nHost: app.test\r\n\r\nGET /two HTTP/1.1\r\nHost: app.test\r\n\r\nGET /three HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
	i1, i2, i3 := strings.Index(out, "/one"), strings.Index(out, "/two"), strings.Index(out, "/three")
	if i1 < 0 || i2 < i1 || i3 < i2 || strings.Count(out, "HTTP/1.1 200") != 3 || !strings.Contains(out, "Connection: close") {
		t.Fatalf("answers:\n%s", out)
	}
}

func TestFastPath_HeadAnd204And304HaveNoBody(t *testing.T) {
	addr, _, _ := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		}
	})
	out := rawExchange(t, addr, "HEAD / HTTP/1.1\r\nHost: app.test\r\n\r\nGET /204 HTTP/1.1\r\nHost: app.test\r\n\r\nGET /304 HTTP/1.1\r\nHost: app.test\r\n\r\nGET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
	if strings.Count(out, "HTTP/1.1 ") != 4 || !strings.HasSuffix(out, "hello") || strings.Count(out, "hello") != 1 {
		t.Fatalf("answers:\n%s", out)
	}
}

func TestFastPath_AnswerWithoutLengthEndsWithTheConnection(t *testing.T) {
	addr, _, _ := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {
		// A backend that closes to end its answer (HTTP/1.0 style).
		conn, bw, _ := w.(http.Hijacker).Hijack()
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
		bw.Flush()
		conn.Close()
	})
	out := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
	if !strings.Contains(out, "Connection: close") || !strings.HasSuffix(out, "until the end") {
		t.Fatalf("answer:\n%s", out)
	}
}

func TestFastPath_StreamsAreFlushedAsTheyCome(t *testing.T) {
	release := make(chan struct{})
	addr, _, _ := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprint(w, "data: second\n\n")
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /events HTTP/1.1\r\nHost: app.test\r\n\r\n")
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event not streamed before the second was written: %q %v", line, err)
	}
	close(release)
}

func TestFastPath_HandsOffWhatItDoesNotHandle(t *testing.T) {
	addr, _, _ := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s body=%s", r.Proto, r.Method, b)
	})
	http10 := rawExchange(t, addr, "GET / HTTP/1.0\r\nHost: app.test\r\n\r\n")
	if !strings.Contains(http10, "200 OK") || !strings.Contains(http10, "HTTP/1.1 GET") {
		t.Errorf("HTTP/1.0 request:\n%s", http10)
	}
	expect := rawExchange(t, addr, "POST / HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
	if !strings.Contains(expect, "body=abc") {
		t.Errorf("Expect: 100-continue request:\n%s", expect)
	}
	// Both framings: the mark of request smuggling, refused and closed.
	smuggle := rawExchange(t, addr, "POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n")
	if !strings.HasPrefix(smuggle, "HTTP/1.1 400") || strings.Count(smuggle, "HTTP/1.1") != 1 {
		t.Errorf("Content-Length with Transfer-Encoding:\n%s", smuggle)
	}
}

func TestFastPath_BadOrHugeHeadsAreRefused(t *testing.T) {
	addr, _, _ := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {})
	if out := rawExchange(t, addr, "GARBAGE\r\n\r\n"); !strings.Contains(out, "400") {
		t.Errorf("garbage:\n%s", out)
	}
	huge := "GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n"
	if out := rawExchange(t, addr, huge); !strings.Contains(out, "431") {
		t.Errorf("huge head: %.200s", out)
	}
}

func TestFastPath_ForwardsHeadersButNotHopByHopOnes(t *testing.T) {
	addr, _, be := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-App", "yes")
	})
	out := rawExchange(t, addr, "GET /p?q=1 HTTP/1.1\r\nHost: App.Test:8080\r\nX-Custom: v\r\nProxy-Authorization: secret\r\nX-Forwarded-For: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\nConnection: keep-alive\r\n\r\n")
	r := be.lastRequest()
	if r == nil || r.URL.RequestURI() != "/p?q=1" || r.Header.Get("X-Custom") != "v" || r.Header.Get("Proxy-Authorization") != "" || r.Header.Get("Forwarded") != "" ||
		r.Header.Get("X-Forwarded-For") != "127.0.0.1" || r.Header.Get("X-Forwarded-Host") != "App.Test:8080" || r.Header.Get("X-Request-Id") == "" {
		t.Fatalf("backend got %+v", r)
	}
	if strings.Contains(out, "Keep-Alive") || !strings.Contains(out, "X-App: yes") {
		t.Fatalf("answer:\n%s", out)
	}
}

func TestFastPath_MalformedHeaderLinesAreRefused(t *testing.T) {
	addr, _, be := fastFixture(t, func(w http.ResponseWriter, r *http.Request) {})
	for _, bad := range []string{"X-Bad(name): v", "X-Nul: a\x00b", "X-Cr: a\rb"} {
		out := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: app.test\r\n"+bad+"\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(out, "HTTP/1.1 400") {
			t.Errorf("%q: %.80q, want 400", bad, out)
		}
	}
	if be.hits.Load() != 0 {
		t.Fatalf("%d malformed requests reached the backend", be.hits.Load())
	}
}

// scriptedBackend answers every request it reads with answer(path),
// written as it is: for backends that frame their answers in ways net/http
// would not.
func scriptedBackend(t *testing.T, answer func(path string) string) string {
	t.Helper()
	return rawServer(t, func(c net.Conn, br *bufio.Reader) bool {
		req, err := http.ReadRequest(br)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, req.Body)
		_, err = io.WriteString(c, answer(req.URL.Path))
		return err == nil
	})
}

func TestFastPath_AnAnswerWithBothFramingsIsRelayedChunkedAlone(t *testing.T) {
	addr, _ := proxyTo(t, scriptedBackend(t, func(string) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
	}))
	out := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
	if strings.Contains(out, "Content-Length") || !strings.Contains(out, "Transfer-Encoding: chunked") || !strings.HasSuffix(out, "5\r\nhello\r\n0\r\n\r\n") {
		t.Fatalf("answer:\n%s", out)
	}
}

func TestFastPath_HeadersTheConnectionHeaderNamesAreNotRelayed(t *testing.T) {
	addr, _ := proxyTo(t, scriptedBackend(t, func(string) string {
		return "HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: backend only\r\nX-Public: yes\r\nContent-Length: 2\r\n\r\nok"
	}))
	out := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
	if strings.Contains(out, "X-Secret") || !strings.Contains(out, "X-Public: yes") || !strings.HasSuffix(out, "ok") {
		t.Fatalf("answer:\n%s", out)
	}
}

func TestFastPath_AnHTTP10BackendIsReusedOnlyWhenItSaysKeepAlive(t *testing.T) {
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	be := func(keepAlive bool) string {
		return rawServer(t, func(c net.Conn, br *bufio.Reader) bool {
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			if _, err := http.ReadRequest(br); err != nil {
				return false
			}
			if !keepAlive {
				// HTTP/1.0 without keep-alive: the close comes a moment
				// after the answer, as the race it is.
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(20 * time.Millisecond)
				return false
			}
			_, err := io.WriteString(c, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok")
			return err == nil
		})
	}
	for _, keepAlive := range []bool{false, true} {
		mu.Lock()
		clear(conns)
		mu.Unlock()
		addr, _ := proxyTo(t, be(keepAlive))
		bad := hammer(t, addr, 1, 20, func(int) string { return "/" }, func(_ int, body string) bool { return body == "200 ok" })
		if len(bad) != 0 {
			t.Fatalf("keep-alive %v: %d failed, first %s", keepAlive, len(bad), bad[0])
		}
		mu.Lock()
		got := len(conns)
		mu.Unlock()
		if keepAlive && got > 2 || !keepAlive && got < 20 {
			t.Fatalf("keep-alive %v: %d backend connections for 20 requests", keepAlive, got)
		}
	}
}
