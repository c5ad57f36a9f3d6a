// Package e2e tests nonstop as its users run it: the built binary, a real
// server with its proxy process, real app processes, and a load that counts
// every response. Everything listens on 127.0.0.1 and every load is bounded.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/examples"
	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/server"
	"github.com/nonstopdev/nonstop/internal/wire"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nonstop-e2e-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "nonstop")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/nonstop")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build nonstop:", err)
		os.Exit(1)
	}
	if goCache, err = sharedGoCache(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopKube()
	os.RemoveAll(dir)
	os.RemoveAll(goCache)
	os.Exit(code)
}

// goCache is a Go build cache every test app's build shares (the
// servers' --build-env), so that each app's account does not compile
// the standard library again: ~25 s a build on this machine. The test
// apps trust each other; a real server's apps each have their own.
var goCache string

// sharedGoCache makes a Go build cache that every account may write:
// its 256 folders exist already, and anyone may add to them or replace
// what is in them.
func sharedGoCache() (string, error) {
	dir, err := os.MkdirTemp("", "nonstop-e2e-gocache-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		return "", err
	}
	for i := range 256 {
		sub := filepath.Join(dir, fmt.Sprintf("%02x", i))
		if err := os.Mkdir(sub, 0o777); err != nil {
			return "", err
		}
		if err := os.Chmod(sub, 0o777); err != nil { // umask aside
			return "", err
		}
	}
	return dir, nil
}

// dataDir is a temporary data folder that apps' accounts can reach:
// t.TempDir's folders let no one else through.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// cluster is one nonstop installation: a data folder, its server and proxy.
type cluster struct {
	t         *testing.T
	data      string
	api, http string
	token     string
	args, env []string // more server flags and environment

	mu     sync.Mutex
	server *exec.Cmd
	log    *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	// A port is free once its listener closes, and the kernel may hand
	// the same one out again at once: never give one twice in a run.
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		givenMu.Lock()
		seen := given[addr]
		given[addr] = true
		givenMu.Unlock()
		if !seen {
			return addr
		}
	}
}

var (
	givenMu sync.Mutex
	given   = map[string]bool{} // the addresses freeAddr gave
)

// newCluster starts a server on free loopback ports; cleanup shuts
// everything down (server, proxy, instances).
func newCluster(t *testing.T) *cluster {
	t.Helper()
	return newClusterWith(t, nil, nil)
}

// newClusterWith is newCluster with more server flags and environment.
func newClusterWith(t *testing.T, args, env []string) *cluster {
	t.Helper()
	args = append([]string{"--build-env", "GOCACHE=" + goCache}, args...)
	c := &cluster{t: t, data: dataDir(t), api: freeAddr(t), http: freeAddr(t), args: args, env: env}
	t.Cleanup(func() {
		out, err := exec.Command(binary, "shutdown", "--data", c.data).CombinedOutput()
		if err != nil {
			t.Errorf("nonstop shutdown: %v\n%s", err, out)
		}
		// The apps' accounts, containers and networks go with the
		// installation (the Engine has subnets for a few dozen networks).
		if err := server.RemoveAccounts(context.Background(), c.data); err != nil {
			t.Errorf("remove the apps' accounts: %v", err)
		}
		if err := server.RemoveContainers(context.Background(), c.data); err != nil {
			t.Errorf("remove the apps' containers: %v", err)
		}
		if t.Failed() {
			c.mu.Lock()
			// The server prints the admin token at first start: keep it
			// out of the test's output.
			log := c.log.String()
			if c.token != "" {
				log = strings.ReplaceAll(log, c.token, "nst_(redacted)")
			}
			t.Logf("server log:\n%s", log)
			c.mu.Unlock()
			if b, err := os.ReadFile(filepath.Join(c.data, "proxy", "proxy.log")); err == nil {
				t.Logf("proxy log:\n%s", b)
			}
		}
	})
	c.startServer()
	b, err := os.ReadFile(filepath.Join(c.data, "admin.token"))
	if err != nil {
		t.Fatalf("admin token not written at first start: %v", err)
	}
	c.token = strings.TrimSpace(string(b))
	return c
}

func (c *cluster) startServer() {
	c.t.Helper()
	c.mu.Lock()
	if c.log == nil {
		c.log = &bytes.Buffer{}
	}
	cmd := exec.Command(binary, append([]string{"server", "--data", c.data, "--api", c.api, "--http", c.http}, c.args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = &lockedWriter{mu: &c.mu, w: c.log}, &lockedWriter{mu: &c.mu, w: c.log}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.server = cmd
	c.mu.Unlock()
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start server: %v", err)
	}
	go cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + c.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("server did not answer /healthz in 30s: %v\n%s", err, c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killServer kills the control plane with SIGKILL, as a crash would.
func (c *cluster) killServer() {
	c.mu.Lock()
	pid := c.server.Process.Pid
	c.mu.Unlock()
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (c *cluster) client() *client.Client { return client.New("http://"+c.api, c.token) }

// run runs the nonstop CLI against the cluster and returns its combined
// output and exit code.
func (c *cluster) run(args ...string) (string, int) {
	c.t.Helper()
	return c.runAs(c.token, args...)
}

// runAs is run with another user's token.
func (c *cluster) runAs(token string, args ...string) (string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "NONSTOP_SERVER=http://"+c.api, "NONSTOP_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return string(out), exit.ExitCode()
		}
		c.t.Fatalf("run nonstop %v: %v", args, err)
	}
	return string(out), 0
}

// mustRun runs the CLI and fails the test unless it exits 0.
func (c *cluster) mustRun(args ...string) string {
	c.t.Helper()
	out, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("nonstop %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// appSource writes the hello example with the given nonstop.yaml into a
// fresh folder.
func appSource(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	sub, err := fs.Sub(examples.FS, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dir, sub); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nonstop.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// helloSpec is the hello app's nonstop.yaml at a version, with extra env lines.
func helloSpec(version string, startTimeout string, env ...string) string {
	s := fmt.Sprintf(`name: hello
build: go build -o app main.go
run: ./app
instances: 2
health:
  path: /healthz
  interval: 200ms
  timeout: 1s
  start_timeout: %s
deploy:
  strategy: rolling
  max_surge: 1
  max_unavailable: 0
  drain_timeout: 10s
  stop_timeout: 5s
env:
  VERSION: "%s"
`, startTimeout, version)
	for _, e := range env {
		s += "  " + e + "\n"
	}
	return s
}

// get sends one request through the proxy to an app.
func (c *cluster) get(app, path string) (int, string, error) {
	return c.getHost(app+".localhost", path)
}

// getHost sends one request through the proxy with the given Host header.
func (c *cluster) getHost(host, path string) (int, string, error) {
	req, _ := http.NewRequest("GET", "http://"+c.http+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), nil
}

// waitRollout waits for the app's latest rollout to end.
func (c *cluster) waitRollout(app string, timeout time.Duration) *wire.Rollout {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rs, err := c.client().Rollouts(context.Background(), app)
		if err == nil && len(rs) > 0 && rs[0].State.Terminal() {
			return &rs[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("rollout of %s did not end in %s (last: %+v, err %v)", app, timeout, rs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runBinary runs nonstop without a server or token.
func runBinary(args ...string) (string, error) {
	out, err := exec.Command(binary, args...).CombinedOutput()
	return string(out), err
}
