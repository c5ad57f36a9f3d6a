package api_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/api"
	"github.com/nonstopdev/nonstop/internal/archive"
	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/fleet/local"
	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/runtime/process"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// helloBin is examples/hello, built once for the whole test binary. Uploads
// stay small: their build command copies it into the release folder.
var helloBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nonstop-api-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helloBin = filepath.Join(dir, "app")
	build := exec.Command("go", "build", "-o", helloBin, "../../examples/hello")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build examples/hello:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a control plane behind a real HTTP listener on loopback.
type server struct {
	t       *testing.T
	data    string
	tmp     string
	st      *store.Store
	rt      *process.Runtime
	px      *proxy.Proxy
	apps    *httptest.Server // the proxy's listener
	eng     *rollout.Engine
	pl      *pipeline.Pipeline
	api     *httptest.Server
	handler *api.API
	token   string
	admin   *client.Client
	limits  archive.Limits
	appHTTP *http.Client
}

type option func(*server)

func withLimits(l archive.Limits) option { return func(s *server) { s.limits = l } }

func newServer(t *testing.T, opts ...option) *server {
	t.Helper()
	ctx := context.Background()
	s := &server{t: t, data: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	s.tmp = filepath.Join(s.data, "tmp")
	var err error
	if s.st, err = store.Open(ctx, filepath.Join(s.data, "nonstop.db")); err != nil {
		t.Fatal(err)
	}
	s.token = auth.NewToken()
	if _, err := s.st.Bootstrap(ctx, auth.Hash(s.token)); err != nil {
		t.Fatal(err)
	}
	if s.rt, err = process.New(process.Options{Dir: filepath.Join(s.data, "instances")}); err != nil {
		t.Fatal(err)
	}
	s.px = proxy.New(proxy.Options{})
	s.apps = httptest.NewServer(s.px)
	log := slog.New(slog.DiscardHandler)
	s.eng = rollout.New(rollout.Config{Store: s.st, Fleets: []fleet.Fleet{local.New(local.Config{Store: s.st, Runtime: s.rt, Proxy: s.px, Logger: log})}, Proxy: s.px, DataDir: s.data, Logger: log})
	s.pl = pipeline.New(pipeline.Config{Store: s.st, Engine: s.eng, DataDir: s.data, Logger: log})
	s.handler = api.New(api.Config{
		Store: s.st, Engine: s.eng, Pipeline: s.pl, Runtime: s.rt, Proxy: s.px, Logger: log,
		TempDir: s.tmp, ProxyURL: s.apps.URL, Limits: s.limits, Version: "test",
		ImageRepo: func(app string) string { return "127.0.0.1:5000/" + app }, ImagePrefixes: []string{"ghcr.io/acme/"},
	})
	s.api = httptest.NewServer(s.handler)
	s.admin = client.New(s.api.URL, s.token)
	s.admin.HTTP.Timeout = 60 * time.Second
	s.appHTTP = &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(s.close)
	return s
}

func (s *server) close() {
	s.api.CloseClientConnections()
	s.api.Close()
	s.pl.Close()
	s.eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.rt.StopAll(ctx, 2*time.Second); err != nil {
		s.t.Errorf("stop all instances: %v", err)
	}
	s.rt.Close()
	s.apps.Close()
	s.px.Close()
	s.st.Close()
}

// member creates a user of another team and returns its client.
func (s *server) member(name, team string) *client.Client {
	s.t.Helper()
	token := auth.NewToken()
	if _, err := s.st.CreateUser(context.Background(), name, store.RoleMember, team, auth.Hash(token)); err != nil {
		s.t.Fatal(err)
	}
	c := client.New(s.api.URL, token)
	c.HTTP.Timeout = 60 * time.Second
	return c
}

// helloYAML is a nonstop.yaml for the hello app at version v, with extra
// env lines ("KEY: value").
func helloYAML(v int, extra ...string) string {
	y := fmt.Sprintf(`build: cp %q app
run: ./app
instances: 1
health:
  path: /healthz
  interval: 100ms
  timeout: 1s
  start_timeout: 10s
deploy:
  drain_timeout: 2s
  stop_timeout: 3s
env:
  VERSION: "%d"
`, helloBin, v)
	for _, e := range extra {
		y += "  " + e + "\n"
	}
	return y
}

// tarGz packs files (name → content) as an upload.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// createApp creates an app as the admin.
func (s *server) createApp(name string, domains ...string) {
	s.t.Helper()
	if _, err := s.admin.CreateApp(context.Background(), name, domains); err != nil {
		s.t.Fatalf("create app %s: %v", name, err)
	}
}

// deploy uploads the hello app at version v with extra env lines.
func (s *server) deploy(c *client.Client, app string, v int, extra ...string) (*wire.Rollout, error) {
	return c.Deploy(context.Background(), app, bytes.NewReader(tarGz(s.t, map[string]string{"nonstop.yaml": helloYAML(v, extra...)})), "")
}

// deployLive deploys and follows the rollout until it is live.
func (s *server) deployLive(app string, v int, extra ...string) *wire.Rollout {
	s.t.Helper()
	ro, err := s.deploy(s.admin, app, v, extra...)
	if err != nil {
		s.t.Fatalf("deploy v%d: %v", v, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	end, err := s.admin.Follow(ctx, app, ro.ID, func(wire.Event) {})
	if err != nil {
		s.t.Fatalf("follow deploy v%d: %v", v, err)
	}
	if end.State != wire.RolloutDone {
		s.t.Fatalf("deploy v%d ended %s: %s", v, end.State, end.Reason)
	}
	return end
}

// raw sends a request to the API with the given Authorization header
// ("" for none) and returns the status, the decoded error and the headers.
func (s *server) raw(method, path, authz string, body io.Reader) (int, string, http.Header) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.api.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(data)), resp.Header
}

// getApp sends a request for an app through the proxy.
func (s *server) getApp(app string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.apps.URL+"/", nil)
	req.Host = app + ".localhost"
	resp, err := s.appHTTP.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// leftovers lists what is in the upload folder.
func (s *server) leftovers() []string {
	s.t.Helper()
	ents, err := os.ReadDir(s.tmp)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
