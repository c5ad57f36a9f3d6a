package hotpath

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
)

// rawResponse is what the raw backend answers: the same 13-byte body as
// proxybench's backend.
var rawResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Date: Sat, 21 Nov 2026 00:00:00 GMT\r\nContent-Length: 13\r\n\r\nHello, world!")

// startRawBackend serves rawResponse to every request head it reads, with
// keep-alive, allocating nothing per request. Requests must have no body.
func startRawBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveRaw(c)
		}
	}()
	return ln.Addr().String()
}

func serveRaw(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 8<<10)
	for {
		if _, err := readHead(r); err != nil {
			return
		}
		if _, err := c.Write(rawResponse); err != nil {
			return
		}
	}
}

var contentLength = []byte("content-length:")

// readHead reads lines up to the empty one that ends a message head, and
// returns the Content-Length it named (0 if none).
func readHead(r *bufio.Reader) (int, error) {
	n := 0
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			return n, nil
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			v := bytes.TrimSpace(line[len(contentLength):])
			n = 0
			for _, c := range v {
				n = n*10 + int(c-'0')
			}
		}
	}
}

// rawClient sends GET / with a Host header over one keep-alive
// connection and reads the answer, allocating nothing per request.
type rawClient struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
}

func dialRaw(b *testing.B, addr, host string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &rawClient{c: c, r: bufio.NewReaderSize(c, 8<<10),
		req: []byte("GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: hotpath\r\n\r\n")}
}

var errStatus = errors.New("status is not 200")

func (rc *rawClient) get() error {
	if _, err := rc.c.Write(rc.req); err != nil {
		return err
	}
	status, err := rc.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return errStatus
	}
	n, err := readHead(rc.r)
	if err != nil {
		return err
	}
	_, err = rc.r.Discard(n)
	return err
}

// discardWriter is a ResponseWriter that keeps the headers and drops the
// body; reset makes it ready for the next request without allocating.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: http.Header{}} }

func (w *discardWriter) Header() http.Header  { return w.h }
func (w *discardWriter) WriteHeader(code int) { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func (w *discardWriter) reset() { clear(w.h); w.code, w.n = 0, 0 }

func (w *discardWriter) check() error {
	if w.code != http.StatusOK || w.n != 13 {
		return errors.New("got status " + strconv.Itoa(w.code) + " with " + strconv.Itoa(w.n) + " bytes")
	}
	return nil
}
