package main

import (
	"context"
	"path/filepath"
	"text/template"
	"time"
)

// nginxConf keeps idle connections to the backend (keepalive, HTTP/1.1,
// no Connection header) and one worker per proxy core, logging errors
// only.
var nginxConf = template.Must(template.New("nginx").Parse(`# written by proxybench
daemon off;
master_process on;
worker_processes {{.CPUs}};
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path {{.Dir}}/tmp/body;
	proxy_temp_path {{.Dir}}/tmp/proxy;
	fastcgi_temp_path {{.Dir}}/tmp/fastcgi;
	uwsgi_temp_path {{.Dir}}/tmp/uwsgi;
	scgi_temp_path {{.Dir}}/tmp/scgi;
	keepalive_requests 100000;
	upstream app {
		server {{.Backend}};
		keepalive 128;
	}
	server {
		listen {{.Listen}};
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
		}
	}
}
`))

// nginxPeer is Debian's nginx. A switch rewrites the upstream and runs
// `nginx -s reload`, the usual way.
type nginxPeer struct {
	env    peerEnv
	listen string
	p      *proc
}

func (n *nginxPeer) conf() string { return filepath.Join(n.env.dir, "nginx.conf") }

func (n *nginxPeer) argv(extra ...string) []string {
	return append([]string{"nginx", "-p", n.env.dir, "-c", n.conf(), "-e", filepath.Join(n.env.dir, "error.log")}, extra...)
}

func (n *nginxPeer) write(backend string) error {
	return writeConfig(n.conf(), nginxConf, configData{Dir: n.env.dir, Listen: n.listen, Backend: backend, CPUs: n.env.cpus})
}

func (n *nginxPeer) start(ctx context.Context, backend string) (string, error) {
	var err error
	if n.listen, err = freeAddr(); err != nil {
		return "", err
	}
	if err := mkdirs(filepath.Join(n.env.dir, "tmp")); err != nil {
		return "", err
	}
	if err := n.write(backend); err != nil {
		return "", err
	}
	if n.p, err = n.env.ps.start("nginx", nil, nil, n.argv()...); err != nil {
		return "", err
	}
	return n.listen, waitHTTP(ctx, n.p, n.listen, benchHost)
}

func (n *nginxPeer) switchTo(ctx context.Context, _, next string) error {
	if err := n.write(next); err != nil {
		return err
	}
	_, err := n.env.ps.run(ctx, "nginx-reload", n.argv("-s", "reload")...)
	return err
}

func (n *nginxPeer) stop() {
	if n.p != nil {
		n.p.stop(5 * time.Second)
	}
}
