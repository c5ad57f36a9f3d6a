package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy/daemon"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/server"
)

// nonstopPeer runs the real `nonstop proxy` binary and drives it over its
// control socket, as the control plane does. A switch is nonstop's swap:
// SetRoute to the new backend, then Drain the old one. It runs with its
// default access log (a JSON line per request in its data folder), or
// with --access-log accessLog.
type nonstopPeer struct {
	env       peerEnv
	accessLog string
	p         *proc
	client    *daemon.Client
	release   int
}

func (n *nonstopPeer) start(ctx context.Context, backend string) (string, error) {
	data := filepath.Join(n.env.dir, "data")
	if err := os.MkdirAll(filepath.Join(data, "proxy"), 0o700); err != nil {
		return "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	argv := []string{n.env.nonstopBin, "proxy", "--data", data, "--http", addr}
	if n.env.cpuprofile != "" {
		argv = []string{n.env.self, "nonstop-proxy", "-data", data, "-http", addr, "-cpuprofile", n.env.cpuprofile}
	}
	if n.accessLog != "" {
		argv = append(argv, "--access-log", n.accessLog)
	}
	if n.p, err = n.env.ps.start("nonstop", cpusEnv(n.env.cpus), nil, argv...); err != nil {
		return "", err
	}
	n.client = daemon.NewClient(server.SocketPath(data))
	if err := n.waitControl(ctx); err != nil {
		return "", err
	}
	if err := n.setRoute(ctx, backend); err != nil {
		return "", err
	}
	return addr, waitHTTP(ctx, n.p, addr, benchHost)
}

// waitControl waits until the proxy answers on its control socket.
func (n *nonstopPeer) waitControl(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		_, err := n.client.Routes(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nonstop proxy: control socket: %w (log: %s)", err, n.p.logPath())
		case <-n.p.done:
			return fmt.Errorf("nonstop proxy: %w (log: %s)", errExited, n.p.logPath())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (n *nonstopPeer) setRoute(ctx context.Context, backend string) error {
	n.release++
	return n.client.SetRoute(ctx, proxy.Route{
		App:      "bench",
		Hosts:    []string{benchHost},
		Backends: []proxy.Backend{{ID: fmt.Sprintf("bench-%d", n.release), Addr: backend, Release: n.release}},
	})
}

func (n *nonstopPeer) switchTo(ctx context.Context, old, next string) error {
	if err := n.setRoute(ctx, next); err != nil {
		return err
	}
	left, err := n.client.Drain(ctx, []string{old}, n.env.drainTimeout)
	if err != nil {
		return err
	}
	if left > 0 {
		log.Printf("nonstop: %d requests still in flight to %s after the drain timeout", left, old)
	}
	return nil
}

func (n *nonstopPeer) stop() {
	if n.client != nil {
		n.client.Close()
	}
	if n.p != nil {
		n.p.stop(10 * time.Second)
	}
}
