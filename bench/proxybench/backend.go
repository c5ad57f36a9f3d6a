package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// helloBody is what the backend answers to every request but /slow: a
// small response, so that the benchmark measures the proxies, not copying.
const helloBody = "Hello, world!"

var textPlain = []string{"text/plain; charset=utf-8"}

// runBackend is `proxybench backend -addr ADDR -name v1`: the app put
// behind the proxies, run as a process of its own. It answers helloBody
// with keep-alive, and GET or POST /slow?ms=N after N milliseconds (1000
// by default). It does not catch SIGTERM: like most apps, it stops at
// once, cutting what it has in flight. Draining is the proxy's job.
func runBackend(args []string) error {
	fs := flag.NewFlagSet("backend", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	name := fs.String("name", "v1", "version name, in /slow's answer")
	_ = fs.Parse(args)

	slowBody := []byte("slow request done by " + *name + "\n")
	hello := []byte(helloBody)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = textPlain
		if r.URL.Path != "/slow" {
			w.Write(hello)
			return
		}
		io.Copy(io.Discard, r.Body)
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil {
			ms = 1000
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Write(slowBody)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	return srv.ListenAndServe()
}

// backendProc is a running backend.
type backendProc struct {
	name string
	addr string
	proc *proc
}

// startBackend starts `self backend` on a free loopback port with
// GOMAXPROCS=cpus (0: Go's default) and waits until it answers.
func startBackend(ctx context.Context, ps *procs, self, name string, cpus int) (*backendProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var env []string
	if cpus > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(cpus))
	}
	p, err := ps.start("backend-"+name+"-"+portOf(addr), env, nil, self, "backend", "-addr", addr, "-name", name)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, p, addr, ""); err != nil {
		p.kill()
		return nil, fmt.Errorf("backend %s: %w", name, err)
	}
	return &backendProc{name: name, addr: addr, proc: p}, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (the kernel does not hand it out again at once).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// waitHTTP polls GET http://addr/ (with Host host, if set) until it is
// answered 200, p exits, ctx ends or 15 seconds pass.
func waitHTTP(ctx context.Context, p *proc, addr, host string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
		if host != "" {
			req.Host = host
		}
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("answered %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s: %v (log: %s)", addr, err, p.logPath())
		case <-p.done:
			return fmt.Errorf("%w: %s (log: %s)", errExited, p.name, p.logPath())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// selfPath is the harness's own binary, which also runs the backends.
func selfPath() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own binary: %w", err)
	}
	return p, nil
}
