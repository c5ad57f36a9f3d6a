package main

import (
	"context"
	"path/filepath"
	"syscall"
	"text/template"
	"time"
)

// haproxyConf is HTTP mode with keep-alive on both sides (the default)
// and idle backend connections shared between requests.
var haproxyConf = template.Must(template.New("haproxy").Parse(`# written by proxybench
global
	nbthread {{.CPUs}}
	maxconn 4096
	# as in Debian's default haproxy.cfg: lets a reload pass the listeners
	# to the new worker (seamless reload)
	stats socket {{.Dir}}/admin.sock mode 600 level admin expose-fd listeners
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	timeout http-keep-alive 30s
frontend bench
	bind {{.Listen}}
	default_backend app
backend app
	http-reuse always
	server app1 {{.Backend}}
`))

// haproxyPeer is Debian's haproxy in master-worker mode (-W). A switch
// rewrites the config and sends SIGUSR2 to the master, which is what
// `systemctl reload haproxy` does: the new worker takes the listener, the
// old one finishes its requests and leaves (like -sf).
type haproxyPeer struct {
	env    peerEnv
	listen string
	p      *proc
}

func (h *haproxyPeer) conf() string { return filepath.Join(h.env.dir, "haproxy.cfg") }

func (h *haproxyPeer) write(backend string) error {
	return writeConfig(h.conf(), haproxyConf, configData{Dir: h.env.dir, Listen: h.listen, Backend: backend, CPUs: h.env.cpus})
}

func (h *haproxyPeer) start(ctx context.Context, backend string) (string, error) {
	var err error
	if h.listen, err = freeAddr(); err != nil {
		return "", err
	}
	if err := h.write(backend); err != nil {
		return "", err
	}
	if h.p, err = h.env.ps.start("haproxy", nil, nil, "haproxy", "-W", "-f", h.conf()); err != nil {
		return "", err
	}
	return h.listen, waitHTTP(ctx, h.p, h.listen, benchHost)
}

func (h *haproxyPeer) switchTo(_ context.Context, _, next string) error {
	if err := h.write(next); err != nil {
		return err
	}
	return h.p.signal(syscall.SIGUSR2)
}

func (h *haproxyPeer) stop() {
	if h.p != nil {
		h.p.stop(5 * time.Second)
	}
}
