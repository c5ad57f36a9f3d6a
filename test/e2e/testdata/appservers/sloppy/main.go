// Command sloppy is a raw-socket HTTP server that frames its answers in
// each of the ways a proxy meets in the wild, in turn:
//
//   - an answer with Content-Length followed by bytes nobody asked for;
//   - an answer without Content-Length, ended by closing the connection;
//   - an HTTP/1.0 answer with Connection: keep-alive;
//   - a chunked answer with a chunk extension and a trailer;
//
// and it answers a POST before reading its body (then reads it).
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

var (
	version = os.Getenv("VERSION")
	turn    atomic.Int64
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}

func serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if !answer(c, req) {
			return
		}
	}
}

// answer writes the answer to req and reports whether the connection goes on.
func answer(c net.Conn, req *http.Request) bool {
	if req.URL.Path == "/healthz" {
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
		return true
	}
	if req.Method == http.MethodPost {
		// Early: the body is still unread.
		body := "answered before reading the body, v" + version + "\n"
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Version: %s\r\nContent-Length: %d\r\n\r\n%s", version, len(body), body)
		_, err := io.Copy(io.Discard, req.Body)
		return err == nil
	}
	if req.URL.Path == "/slow" {
		ms, _ := strconv.Atoi(req.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	body := "hello from v" + version + "\n"
	switch turn.Add(1) % 4 {
	case 0:
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Version: %s\r\nContent-Length: %d\r\n\r\n%s\r\nextra bytes\r\n", version, len(body), body)
		return true
	case 1:
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Version: %s\r\n\r\n%s", version, body)
		return false
	case 2:
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nX-Version: %s\r\nContent-Length: %d\r\n\r\n%s", version, len(body), body)
		return true
	default:
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Version: %s\r\nTransfer-Encoding: chunked\r\nTrailer: X-Done\r\n\r\n%x;turn=3\r\n%s\r\n0\r\nX-Done: yes\r\n\r\n", version, len(body), body)
		return true
	}
}
