package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/fleet/local"
	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/runtime/process"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// helloBin is examples/hello, built once for the whole test binary.
var helloBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nonstop-pipeline-test-")
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

// rig is a pipeline over real parts: a SQLite file, the process runtime,
// the in-process proxy on loopback, and the rollout engine.
type rig struct {
	t      *testing.T
	data   string
	st     *store.Store
	rt     *process.Runtime
	px     *proxy.Proxy
	srv    *httptest.Server
	eng    *rollout.Engine
	pl     *pipeline.Pipeline
	team   int64
	client *http.Client
}

// newRig wires a pipeline with cfg's build settings.
func newRig(t *testing.T, cfg pipeline.Config) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, data: t.TempDir(), client: &http.Client{Timeout: 10 * time.Second}}
	var err error
	if r.st, err = store.Open(ctx, filepath.Join(r.data, "nonstop.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Bootstrap(ctx, "admin-hash"); err != nil {
		t.Fatal(err)
	}
	if r.team, err = r.st.TeamID(ctx, store.DefaultTeam); err != nil {
		t.Fatal(err)
	}
	if r.rt, err = process.New(process.Options{Dir: filepath.Join(r.data, "instances")}); err != nil {
		t.Fatal(err)
	}
	r.px = proxy.New(proxy.Options{})
	r.srv = httptest.NewServer(r.px)
	log := slog.New(slog.DiscardHandler)
	fleets := []fleet.Fleet{local.New(local.Config{Store: r.st, Runtime: r.rt, Proxy: r.px, Logger: log})}
	r.eng = rollout.New(rollout.Config{Store: r.st, Fleets: fleets, Proxy: r.px, DataDir: r.data, Logger: log})
	cfg.Store, cfg.Engine, cfg.DataDir, cfg.Logger = r.st, r.eng, r.data, log
	r.pl = pipeline.New(cfg)
	t.Cleanup(r.cleanup)
	return r
}

func (r *rig) cleanup() {
	r.pl.Close()
	r.eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.rt.StopAll(ctx, 2*time.Second); err != nil {
		r.t.Errorf("stop all instances: %v", err)
	}
	r.rt.Close()
	r.srv.Close()
	r.px.Close()
	r.st.Close()
}

func (r *rig) createApp(name string) {
	r.t.Helper()
	if _, err := r.st.CreateApp(context.Background(), name, r.team, nil); err != nil {
		r.t.Fatal(err)
	}
}

// app reads an app back, as a request would find it.
func (r *rig) app(name string) *store.App {
	r.t.Helper()
	app, err := r.st.App(context.Background(), name)
	if err != nil {
		r.t.Fatal(err)
	}
	return app
}

// source prepares an upload of the hello app at version v, as the API
// leaves it: the hello binary and a nonstop.yaml with extra lines added,
// and loads its spec.
func (r *rig) source(name string, v int, extra string) (string, *spec.Spec) {
	r.t.Helper()
	dir, err := os.MkdirTemp(r.data, "upload-")
	if err != nil {
		r.t.Fatal(err)
	}
	bin, err := os.ReadFile(helloBin)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app"), bin, 0o755); err != nil {
		r.t.Fatal(err)
	}
	yaml := fmt.Sprintf(`name: %s
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
`, name, v) + extra
	if err := os.WriteFile(filepath.Join(dir, spec.FileName), []byte(yaml), 0o644); err != nil {
		r.t.Fatal(err)
	}
	sp, err := spec.Load(dir)
	if err != nil {
		r.t.Fatalf("spec: %v\n%s", err, yaml)
	}
	return dir, sp
}

// submit submits a prepared source as the CLI's upload does.
func (r *rig) submit(name, dir string, sp *spec.Spec) (*store.Rollout, *store.Run, error) {
	return r.pl.Submit(context.Background(), pipeline.Source{App: r.app(name), Dir: dir, Spec: sp, Trigger: "cli", Label: "cli", By: "tester"})
}

// start submits version v of the hello app, with extra lines in its
// nonstop.yaml, and fails the test unless it is accepted.
func (r *rig) start(name string, v int, extra string) (*store.Rollout, *store.Run) {
	r.t.Helper()
	dir, sp := r.source(name, v, extra)
	ro, run, err := r.submit(name, dir, sp)
	if err != nil {
		r.t.Fatalf("deploy v%d: %v", v, err)
	}
	return ro, run
}

// deployLive submits version v and fails the test unless it goes live.
func (r *rig) deployLive(name string, v int, extra string) *store.Rollout {
	r.t.Helper()
	ro, _ := r.start(name, v, extra)
	if ro = r.wait(ro.ID); ro.State != store.RolloutDone {
		r.t.Fatalf("deploy v%d ended %s: %s", v, ro.State, ro.Reason)
	}
	return ro
}

// wait waits (bounded) for a rollout to end.
func (r *rig) wait(id int64) *store.Rollout {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ro, err := r.eng.Wait(ctx, id)
	if err != nil {
		r.t.Fatalf("rollout #%d did not end: %v (state %v)", id, err, ro)
	}
	return ro
}

// waitRun waits (bounded) for a run to end and returns it with its stages.
func (r *rig) waitRun(app string, n int) *pipeline.RunView {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	written, stop := r.st.Watch(func(c store.Change) bool { return c.Run != 0 })
	defer stop()
	for {
		run, err := r.st.Run(ctx, r.app(app).ID, n)
		if err != nil {
			r.t.Fatal(err)
		}
		if run.State.Terminal() {
			v, err := r.pl.View(ctx, run)
			if err != nil {
				r.t.Fatal(err)
			}
			return v
		}
		select {
		case <-ctx.Done():
			r.t.Fatalf("run #%d of %s did not end: %+v", n, app, run)
		case <-written:
		}
	}
}

// waitFor waits (bounded) until ok says yes.
func (r *rig) waitFor(what string, ok func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: not in 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits (bounded) for a line of rollout id's log.
func (r *rig) waitLog(id int64, line string) {
	r.t.Helper()
	r.waitFor("log line "+line, func() bool {
		return slices.ContainsFunc(r.events(id), func(e store.Event) bool { return e.Kind == "log" && e.Message == line })
	})
}

func (r *rig) events(id int64) []store.Event {
	r.t.Helper()
	evs, err := r.st.RolloutEvents(context.Background(), id, 0, 10000)
	if err != nil {
		r.t.Fatal(err)
	}
	return evs
}

// mustServe checks that the app answers through the proxy from version v.
func (r *rig) mustServe(app string, v int) {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.srv.URL+"/", nil)
	req.Host = app + ".localhost"
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("GET / through the proxy: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Version") != fmt.Sprint(v) {
		r.t.Fatalf("GET / = %d %q (X-Version %q), want 200 from v%d", resp.StatusCode, strings.TrimSpace(string(body)), resp.Header.Get("X-Version"), v)
	}
}
