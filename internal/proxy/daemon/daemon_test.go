package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
)

// startDaemon runs Run on a loopback listener and returns the
// traffic address, a control client, and the channel Run's result
// comes on. The daemon is stopped at the end of the test.
func startDaemon(t *testing.T, socket, state string) (string, *Client, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		result <- Run(ctx, Config{HTTPListener: ln, SocketPath: socket, StateFile: state, ShutdownTimeout: 5 * time.Second})
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	c := NewClient(socket)
	t.Cleanup(func() { c.Close() })
	eventually(t, 5*time.Second, "the control socket", func() bool {
		_, err := c.Routes(context.Background())
		return err == nil
	})
	return ln.Addr().String(), c, result
}

func TestDaemon_ServesStopsGracefullyAndRestartsWithItsRoutes(t *testing.T) {
	release := make(chan struct{})
	slow := slowBackend(t, release)
	dir := t.TempDir()
	socket := socketPath(t)
	state := filepath.Join(dir, "proxy-state.json")

	addr, c, result := startDaemon(t, socket, state)
	setRoute(t, c, proxy.Route{App: "app", Hosts: []string{"app.test"}, Backends: []proxy.Backend{slow.backend()}})

	// A request in flight when the shutdown comes still gets its answer.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	answer := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		req.Host = "app.test"
		resp, err := client.Do(req)
		if err != nil {
			answer <- err.Error()
			return
		}
		resp.Body.Close()
		answer <- resp.Status
	}()
	eventually(t, 5*time.Second, "the request in flight", func() bool {
		st, err := c.Status(context.Background(), "app")
		return err == nil && st[0].InFlight == 1
	})
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	if got := <-answer; got != "200 OK" {
		t.Fatalf("request in flight during shutdown: %s", got)
	}
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after /shutdown")
	}
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind: %v", err)
	}

	// Restarted, it serves the saved route before anyone sets it again.
	addr, _, _ = startDaemon(t, socket, state)
	if code, body := get(t, client, addr, "app.test", "/"); code != 200 || body != "slow" {
		t.Fatalf("after restart: %d %q", code, body)
	}
}
