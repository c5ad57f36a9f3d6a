package proxy

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// BenchmarkFastPath is one GET through the fast path over loopback, from a
// raw keep-alive client to a raw backend that allocate nothing themselves,
// so allocs/op is what the proxy allocates per request:
//
//	go test ./internal/proxy -run '^$' -bench FastPath -benchmem
func BenchmarkFastPath(b *testing.B) {
	backend := rawBackend(b)
	benchFastPath(b, Route{App: "bench", Hosts: []string{"bench.localhost"}, Backends: []Backend{{ID: "b", Addr: backend, Release: 1}}},
		"GET /hello HTTP/1.1\r\nHost: bench.localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
}

// BenchmarkFastPath_SplitReturningClient is the same GET to a route with a
// canary split, from a client that has its bucket cookie.
func BenchmarkFastPath_SplitReturningClient(b *testing.B) {
	stable, canary := rawBackend(b), rawBackend(b)
	benchFastPath(b, Route{App: "bench", Hosts: []string{"bench.localhost"}, Split: &Split{Release: 2, Weight: 50},
		Backends: []Backend{{ID: "s", Addr: stable, Release: 1}, {ID: "c", Addr: canary, Release: 2}}},
		"GET /hello HTTP/1.1\r\nHost: bench.localhost\r\nUser-Agent: bench\r\nAccept: */*\r\nCookie: session=abc; nonstop_bucket=30\r\n\r\n")
}

// benchFastPath sends request again and again through the fast path to
// route, over one keep-alive connection.
func benchFastPath(b *testing.B, route Route, request string) {
	p := New(Options{})
	b.Cleanup(func() { p.Close() })
	if err := p.SetRoute(context.Background(), route); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	fs := NewFastServer(p, NewServer("", p))
	go fs.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		fs.Shutdown(ctx)
	})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte(request)
	br := bufio.NewReaderSize(c, 8<<10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if n, err := readRawAnswer(br); err != nil || n != 13 {
			b.Fatalf("answer: %d bytes, %v", n, err)
		}
	}
}

var rawAnswer = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!")

// rawBackend answers rawAnswer to every request head, with keep-alive.
func rawBackend(b *testing.B) string {
	return rawServer(b, func(c net.Conn, br *bufio.Reader) bool {
		if _, err := readRawAnswer(br); err != nil {
			return false
		}
		_, err := c.Write(rawAnswer)
		return err == nil
	})
}

// readRawAnswer reads a head and its Content-Length body; it returns the
// body's length.
func readRawAnswer(br *bufio.Reader) (int, error) {
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 15 && bytes.EqualFold(line[:15], []byte("content-length:")) {
			for _, c := range bytes.TrimSpace(line[15:]) {
				n = n*10 + int(c-'0')
			}
		}
	}
	_, err := br.Discard(n)
	return n, err
}
