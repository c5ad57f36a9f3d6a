package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/template"
	"time"
)

// benchHost is the host every proxy serves the backend at.
const benchHost = "bench.localhost"

// peer is one way of putting the backend on a loopback address: directly,
// or behind one of the proxies compared.
type peer interface {
	// start serves benchHost on a free port, forwarding to backend, and
	// returns that address once it answers.
	start(ctx context.Context, backend string) (addr string, err error)
	// switchTo moves traffic from the backend at old to the one at next,
	// the way this proxy is meant to; when it returns, the harness stops
	// the old backend.
	switchTo(ctx context.Context, old, next string) error
	// stop stops the peer's processes.
	stop()
}

// peerEnv is what every peer needs from the harness.
type peerEnv struct {
	ps           *procs
	dir          string // a folder of the peer's own
	cpus         int    // worker processes, threads or GOMAXPROCS of the proxy
	self         string // the harness binary
	nonstopBin   string
	baseBin      string // an earlier nonstop, measured beside this one
	drainTimeout time.Duration
	cpuprofile   string // nonstop only: run it in-harness, profiled
}

// peerNames are the peers known, in the order they are measured.
// nonstop-base is an earlier nonstop binary (-nonstop-base), for ratios of
// a change against what it changes.
var peerNames = []string{"direct", "nonstop", "nonstop-base", "nonstop-nolog", "nginx", "haproxy", "caddy", "go-stdlib"}

// switchPeerNames are the peers the switch benchmark can move traffic on.
var switchPeerNames = []string{"nonstop", "nonstop-base", "nonstop-nolog", "nginx", "haproxy"}

func newPeer(name string, env peerEnv) (peer, error) {
	switch name {
	case "direct":
		return directPeer{}, nil
	case "nonstop", "nonstop-nolog":
		if env.nonstopBin == "" && env.cpuprofile == "" {
			return nil, errors.New("nonstop: -nonstop PATH (a built ./cmd/nonstop) is needed")
		}
		if name == "nonstop-nolog" {
			return &nonstopPeer{env: env, accessLog: "off"}, nil
		}
		return &nonstopPeer{env: env}, nil
	case "nonstop-base":
		if env.baseBin == "" {
			return nil, errors.New("nonstop-base: -nonstop-base PATH (an earlier ./cmd/nonstop) is needed")
		}
		base := env
		base.nonstopBin, base.cpuprofile = env.baseBin, ""
		return &nonstopPeer{env: base}, nil
	case "nginx":
		return &nginxPeer{env: env}, nil
	case "haproxy":
		return &haproxyPeer{env: env}, nil
	case "caddy":
		return &caddyPeer{env: env}, nil
	case "go-stdlib":
		return &goStdlibPeer{env: env}, nil
	}
	return nil, fmt.Errorf("unknown peer %q (known: %v)", name, peerNames)
}

// errNoSwitch is returned by peers the switch benchmark does not cover.
var errNoSwitch = errors.New("the switch benchmark does not cover this peer")

// directPeer is the backend with nothing in front: the ceiling.
type directPeer struct{}

func (directPeer) start(_ context.Context, backend string) (string, error) { return backend, nil }
func (directPeer) switchTo(context.Context, string, string) error          { return errNoSwitch }
func (directPeer) stop()                                                   {}

// writeConfig renders tmpl with data into path, atomically (a reloading
// proxy never reads half a file).
func writeConfig(path string, tmpl *template.Template, data any) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".config-*")
	if err != nil {
		return err
	}
	if err := tmpl.Execute(f, data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("render %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// configData is what the peers' config templates see.
type configData struct {
	Dir     string
	Listen  string
	Backend string
	CPUs    int
}

func cpusEnv(n int) []string { return []string{"GOMAXPROCS=" + strconv.Itoa(n)} }

func mkdirs(dir string) error { return os.MkdirAll(dir, 0o755) }
