package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
)

func TestListenControl_ReplacesAStaleSocketOnly(t *testing.T) {
	path := socketPath(t)
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close() // a proxy that died leaves its socket behind

	ln, err := ListenControl(path)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	if _, err := ListenControl(path); err == nil {
		t.Fatal("a second proxy took over a live socket")
	}
	ln.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("closing the listener left the socket: %v", err)
	}

	file := filepath.Join(filepath.Dir(path), "not-a-socket")
	os.WriteFile(file, []byte("keep me"), 0o600)
	if _, err := ListenControl(file); err == nil {
		t.Fatal("listened over a regular file")
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("the regular file was touched")
	}
}

func TestListenControl_RejectsOtherUsers(t *testing.T) {
	path := socketPath(t)
	ln, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	// This process's own uid is accepted...
	serveControl(t, ln, ControlHandler(newTestProxy(t, proxy.Options{})))
	c := NewClient(path)
	defer c.Close()
	if _, err := c.Routes(context.Background()); err != nil {
		t.Fatalf("same user refused: %v", err)
	}
	// ...and a listener that expects another uid closes the connection.
	other := socketPath(t)
	oln, err := ListenControl(other)
	if err != nil {
		t.Fatal(err)
	}
	oln.(*peerListener).uid = os.Getuid() + 1
	serveControl(t, oln, ControlHandler(newTestProxy(t, proxy.Options{})))
	oc := NewClient(other)
	defer oc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := oc.Routes(ctx); err == nil {
		t.Fatal("a peer with another uid was served")
	}
}
