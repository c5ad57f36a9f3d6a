package e2e

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// The conformance suite: apps on app servers nobody here wrote (see
// testdata/appservers), each deployed as a user would and rolled out
// rolling, canary (analysis on) and blue-green (auto-promoted) under a
// load with slow requests and POSTs. Every response is counted: none may
// fail, every release goes live, and the proxy's own measurements agree
// with what the load saw.

type appServer struct {
	name string // the app, and its folder under testdata/appservers
	dir  string
	// needs are the programs the server runs: missing ones fail the test
	// with what to install.
	needs []string
	// build and run go into nonstop.yaml; empty when a Procfile says it.
	build, run string
	env        []string // more env lines
	health     string   // its health check path (default /healthz)
	slowPath   string   // what the slow workers ask (default /slow?ms=300)
	posts      bool     // it answers POSTs
	versioned  bool     // it says its version in X-Version
}

var appServers = []appServer{
	{name: "py10", dir: "python", needs: []string{"/usr/bin/python3"}, env: []string{"HTTP_VERSION: HTTP/1.0"}, posts: true, versioned: true},
	{name: "py11", dir: "python", needs: []string{"/usr/bin/python3"}, env: []string{"HTTP_VERSION: HTTP/1.1"}, posts: true, versioned: true},
	{name: "pyfolder", dir: "pyfolder", needs: []string{"/usr/bin/python3"}, health: "/", slowPath: "/index.html"},
	{name: "gunicorn", dir: "gunicorn", needs: []string{"gunicorn"}, posts: true, versioned: true},
	{name: "node", dir: "node", needs: []string{"node"}, posts: true, versioned: true},
	{name: "goidle", dir: "goidle", build: "go build -o app .", run: "./app", posts: true, versioned: true},
	{name: "sloppy", dir: "sloppy", build: "go build -o app .", run: "./app", posts: true, versioned: true},
}

func TestAppServers_EveryStrategyUnderLoadFailsNoRequest(t *testing.T) {
	for _, srv := range appServers {
		t.Run(srv.name, func(t *testing.T) {
			for _, prog := range srv.needs {
				if _, err := exec.LookPath(prog); err != nil {
					t.Fatalf("%s is needed to test %s: run `make deps` (it installs Debian's python3, gunicorn and nodejs)", prog, srv.name)
				}
			}
			c := newCluster(t)
			c.mustRun("apps", "create", srv.name)
			c.mustRun("deploy", srv.source(t, 1, "rolling"))
			cfg := loadgen.Config{URL: "http://" + c.http, Host: srv.name + ".localhost", Workers: 4,
				SlowPath: cmp.Or(srv.slowPath, "/slow?ms=300"), SlowWorkers: 2, MaxDuration: 5 * time.Minute}
			if srv.posts {
				cfg.PostPath, cfg.PostWorkers = "/upload", 1
			}
			load := loadgen.Start(context.Background(), cfg)
			defer load.Stop()
			for _, step := range []struct {
				version  int
				strategy string
			}{{2, "rolling"}, {3, "canary"}, {4, "bluegreen"}} {
				start := time.Now()
				out, code := c.run("deploy", srv.source(t, step.version, step.strategy))
				if code != 0 {
					t.Fatalf("v%d (%s): deploy exit %d\n%s", step.version, step.strategy, code, out)
				}
				r := c.waitRollout(srv.name, time.Minute)
				if r.State != "done" || r.ToRelease != step.version {
					t.Fatalf("v%d (%s): rollout %s to v%d: %s", step.version, step.strategy, r.State, r.ToRelease, r.Reason)
				}
				t.Logf("v%d %s: live in %s", step.version, step.strategy, time.Since(start).Round(10*time.Millisecond))
			}
			time.Sleep(400 * time.Millisecond) // longer than a slow request begun before the switch
			switched := load.Snapshot()
			time.Sleep(time.Second) // some load on v4 alone
			res := load.Stop()
			if srv.versioned {
				for v, n := range res.Versions {
					if v != "v4" && n != switched.Versions[v] {
						t.Fatalf("%s answered %d requests after the blue-green switch to v4", v, n-switched.Versions[v])
					}
				}
			}
			t.Logf("load: sent %d, failed %d, slow %d, posts %d, versions %s", res.Sent, res.Failed, res.Slow, res.Posts, res.VersionList())
			if res.Failed != 0 {
				t.Fatalf("%d of %d requests failed: %v", res.Failed, res.Sent, res.Errors)
			}
			if res.Slow == 0 || srv.posts && res.Posts == 0 {
				t.Fatalf("the load had %d slow requests and %d POSTs answered", res.Slow, res.Posts)
			}
			if srv.versioned && res.Versions["v4"] == 0 {
				t.Fatalf("no answer from v4: %s", res.VersionList())
			}
			m := c.proxyMeasurements(t, srv.name)
			t.Logf("proxy measured: %d requests, %d 5xx, %d connection errors", m.requests, m.server, m.connErrors)
			if diff := m.requests - res.Sent; diff < -res.Sent/100 || diff > res.Sent/100 {
				t.Fatalf("the proxy counted %d requests, the load sent %d: more than 1%% apart", m.requests, res.Sent)
			}
			if errs := m.server + m.connErrors; errs > res.Sent/100 {
				t.Fatalf("the proxy counted %d errors (%d 5xx, %d connection errors) where the load saw none", errs, m.server, m.connErrors)
			}
		})
	}
}

// source writes the server's app at a version, with a nonstop.yaml for
// the strategy, into a fresh folder.
func (s appServer) source(t *testing.T, version int, strategy string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "appservers", s.dir))); err != nil {
		t.Fatal(err)
	}
	y := "name: " + s.name + "\n"
	if s.build != "" {
		y += "build: " + s.build + "\n"
	}
	if s.run != "" {
		y += "run: " + s.run + "\n"
	}
	y += `instances: 2
health:
  path: ` + cmp.Or(s.health, "/healthz") + `
  interval: 200ms
  timeout: 1s
  start_timeout: 30s
deploy:
  strategy: ` + strategy + `
  max_surge: 1
  max_unavailable: 0
  drain_timeout: 10s
  stop_timeout: 5s
`
	switch strategy {
	case "canary":
		y += `  canary:
    steps:
      - weight: 50
        pause: 2s
    analysis:
      interval: 1s
      min_requests: 10
      max_error_rate: 0.01
`
	case "bluegreen":
		y += `  bluegreen:
    auto_promote_after: 1s
`
	}
	y += fmt.Sprintf("env:\n  VERSION: \"%d\"\n", version)
	for _, e := range s.env {
		y += "  " + e + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "nonstop.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// measured is what the proxy's metrics say of an app, all releases summed.
type measured struct {
	requests, server, connErrors int64
}

var metricLine = regexp.MustCompile(`^(nonstop_requests_total|nonstop_connection_errors_total)\{([^}]*)\} (\S+)$`)

// proxyMeasurements reads the app's counters from the server's /metrics.
func (c *cluster) proxyMeasurements(t *testing.T, app string) measured {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+c.api+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	var m measured
	for _, line := range strings.Split(string(body), "\n") {
		f := metricLine.FindStringSubmatch(line)
		if f == nil || !strings.Contains(f[2], `app="`+app+`"`) {
			continue
		}
		n, _ := strconv.ParseFloat(f[3], 64)
		switch {
		case f[1] == "nonstop_connection_errors_total":
			m.connErrors += int64(n)
		case strings.Contains(f[2], `class="5xx"`):
			m.server += int64(n)
			m.requests += int64(n)
		default:
			m.requests += int64(n)
		}
	}
	return m
}
