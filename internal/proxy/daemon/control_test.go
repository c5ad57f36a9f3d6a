package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
)

// socketPath returns a path for a unix socket short enough for the
// 108-byte limit.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nsctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "proxy.sock")
}

// serveControl serves h on ln until the test ends.
func serveControl(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

func TestControl_ClientDrivesTheProxyOverTheSocket(t *testing.T) {
	release := make(chan struct{})
	slow := slowBackend(t, release)
	p := newTestProxy(t, proxy.Options{})
	path := socketPath(t)
	ln, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	serveControl(t, ln, ControlHandler(p))
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	c := NewClient(path)
	defer c.Close()
	ctx := context.Background()

	route := proxy.Route{App: "app", Hosts: []string{"app.test"}, Backends: []proxy.Backend{slow.backend()}, Health: proxy.Health{Interval: time.Second}}
	setRoute(t, c, route)
	routes, err := c.Routes(ctx)
	if err != nil || len(routes) != 1 || routes[0].App != "app" || routes[0].Health.Interval != time.Second {
		t.Fatalf("routes %+v, %v", routes, err)
	}

	result := startSlowRequest(t, p, slow)
	st, err := c.Status(ctx, "app")
	if err != nil || len(st) != 1 || st[0].InFlight != 1 || !st[0].Healthy || st[0].ID != "slow" {
		t.Fatalf("status %+v, %v", st, err)
	}
	n, err := c.Drain(ctx, []string{slow.addr}, 20*time.Millisecond)
	if err != nil || n != 1 {
		t.Fatalf("drain with the request in flight: %d, %v", n, err)
	}
	close(release)
	<-result
	if n, err := c.Drain(ctx, []string{slow.addr}, 5*time.Second); err != nil || n != 0 {
		t.Fatalf("drain: %d, %v", n, err)
	}

	if _, err := c.Status(ctx, "nope"); !errors.Is(err, proxy.ErrUnknownApp) {
		t.Fatalf("status of an unknown app: %v, want proxy.ErrUnknownApp", err)
	}
	if err := c.SetRoute(ctx, proxy.Route{App: "bad", Backends: []proxy.Backend{{Addr: "nohost"}}}); !errors.Is(err, proxy.ErrInvalidRoute) {
		t.Fatalf("invalid route: %v, want proxy.ErrInvalidRoute", err)
	}
	if err := c.DeleteRoute(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if routes, _ := c.Routes(ctx); len(routes) != 0 {
		t.Fatalf("routes after delete: %+v", routes)
	}
	if err := c.Shutdown(ctx); err == nil {
		t.Fatal("shutdown without WithShutdown must fail")
	}
}

func TestControl_ShutdownCallsTheCallback(t *testing.T) {
	called := make(chan struct{}, 1)
	path := socketPath(t)
	ln, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	serveControl(t, ln, ControlHandler(newTestProxy(t, proxy.Options{}), WithShutdown(func() { called <- struct{}{} })))
	c := NewClient(path)
	defer c.Close()
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-called:
	default:
		t.Fatal("callback not called")
	}
}

func TestDuration_ReadsStringsAndNanoseconds(t *testing.T) {
	for in, want := range map[string]time.Duration{`"30s"`: 30 * time.Second, `1500000000`: 1500 * time.Millisecond} {
		var d Duration
		if err := d.UnmarshalJSON([]byte(in)); err != nil || time.Duration(d) != want {
			t.Errorf("%s: %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"soon"`)); err == nil {
		t.Error("want an error for a bad duration")
	}
}

func TestControl_MetricsReadOverTheSocketAreTheProxys(t *testing.T) {
	release := make(chan struct{})
	close(release) // it answers at once
	be := slowBackend(t, release)
	p := newTestProxy(t, proxy.Options{})
	path := socketPath(t)
	ln, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	serveControl(t, ln, ControlHandler(p))
	c := NewClient(path)
	defer c.Close()
	setRoute(t, c, proxy.Route{App: "app", Hosts: []string{"app.test"}, Backends: []proxy.Backend{be.backend()}})
	for range 3 {
		if got := <-startSlowRequestDone(t, p); got != "200 OK slow" {
			t.Fatalf("request: %q", got)
		}
	}
	ctx := context.Background()
	// A request is counted once the proxy has relayed its end, which may
	// be just after the client has read it.
	var local []proxy.ReleaseMetrics
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		local, err = p.Metrics(ctx, "app")
		if err == nil && len(local) == 1 && local[0].Requests == 3 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(local) != 1 || local[0].Requests != 3 {
		t.Fatalf("in process: %+v, %v; want release 1 with 3 requests", local, err)
	}
	remote, err := c.Metrics(ctx, "app")
	if err != nil || !reflect.DeepEqual(local, remote) {
		t.Fatalf("over the socket:\n%+v (%v)\nin process:\n%+v", remote, err, local)
	}
}
