package main

import (
	"context"
	"path/filepath"
	"text/template"
	"time"
)

// caddyConf is a plain reverse_proxy (keep-alive to the backend is its
// default), without the admin endpoint, automatic HTTPS or access logs.
var caddyConf = template.Must(template.New("caddy").Parse(`# written by proxybench
{
	admin off
	auto_https off
}
http://{{.Listen}} {
	bind 127.0.0.1
	reverse_proxy {{.Backend}}
}
`))

// caddyPeer is Debian's caddy, measured for throughput only.
type caddyPeer struct {
	env peerEnv
	p   *proc
}

func (c *caddyPeer) start(ctx context.Context, backend string) (string, error) {
	listen, err := freeAddr()
	if err != nil {
		return "", err
	}
	conf := filepath.Join(c.env.dir, "Caddyfile")
	// Caddy matches a site's host: serve any host on the port, bound to
	// loopback.
	data := configData{Dir: c.env.dir, Listen: ":" + portOf(listen), Backend: backend, CPUs: c.env.cpus}
	if err := writeConfig(conf, caddyConf, data); err != nil {
		return "", err
	}
	env := append(cpusEnv(c.env.cpus), "HOME="+c.env.dir, "XDG_CONFIG_HOME="+c.env.dir, "XDG_DATA_HOME="+c.env.dir)
	if c.p, err = c.env.ps.start("caddy", env, nil, "caddy", "run", "--config", conf, "--adapter", "caddyfile"); err != nil {
		return "", err
	}
	return listen, waitHTTP(ctx, c.p, listen, benchHost)
}

func (c *caddyPeer) switchTo(context.Context, string, string) error {
	return errNoSwitch
}

func (c *caddyPeer) stop() {
	if c.p != nil {
		c.p.stop(5 * time.Second)
	}
}
