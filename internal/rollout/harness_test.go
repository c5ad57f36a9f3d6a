package rollout_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/clock"
	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/fleet/local"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/runtime/process"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// helloBin is examples/hello, built once for the whole test binary.
var helloBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nonstop-rollout-test-")
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

// rig is one control plane made of real parts: a SQLite file, the process
// runtime, the in-process proxy served on loopback, and the engine.
type rig struct {
	t      *testing.T
	data   string
	st     *store.Store
	rt     *process.Runtime
	px     *proxy.Proxy
	srv    *httptest.Server
	eng    *rollout.Engine
	client *http.Client
	team   int64
	clock  clock.Clock // the engine's (nil: the real one)
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, data: t.TempDir()}
	st, err := store.Open(ctx, filepath.Join(r.data, "nonstop.db"))
	if err != nil {
		t.Fatal(err)
	}
	r.st = st
	if _, err := st.Bootstrap(ctx, "admin-hash"); err != nil {
		t.Fatal(err)
	}
	if r.team, err = st.TeamID(ctx, store.DefaultTeam); err != nil {
		t.Fatal(err)
	}
	r.px = proxy.New(proxy.Options{})
	r.srv = httptest.NewServer(r.px)
	r.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	r.rt = r.newRuntime()
	r.eng = r.newEngine(r.rt)
	t.Cleanup(r.cleanup)
	return r
}

func (r *rig) newRuntime() *process.Runtime {
	rt, err := process.New(process.Options{Dir: filepath.Join(r.data, "instances"), BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	return rt
}

func (r *rig) newEngine(rt runtime.Runtime) *rollout.Engine {
	return rollout.New(rollout.Config{
		Store: r.st, Fleets: r.fleets(rt), Proxy: r.px, DataDir: r.data, Clock: r.clock,
		Logger: slog.New(slog.DiscardHandler),
	})
}

// fleets is this machine's fleet on runtime rt, on the rig's store, proxy
// and clock.
func (r *rig) fleets(rt runtime.Runtime) []fleet.Fleet {
	return []fleet.Fleet{local.New(local.Config{Store: r.st, Runtime: rt, Proxy: r.px, Clock: r.clock,
		Logger: slog.New(slog.DiscardHandler)})}
}

// restart closes the engine and the runtime as a stopping nonstop does, and
// wires new ones on the same store, runtime folder and proxy. It does not
// call Recover.
func (r *rig) restart() {
	r.eng.Close()
	r.rt.Close()
	r.rt = r.newRuntime()
	r.eng = r.newEngine(r.rt)
}

func (r *rig) cleanup() {
	if r.t.Failed() {
		r.dumpHistory()
	}
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

// dumpHistory logs every rollout and its events, to read a failure.
func (r *rig) dumpHistory() {
	ctx := context.Background()
	apps, _ := r.st.Apps(ctx)
	for _, app := range apps {
		rs, _ := r.st.Rollouts(ctx, app.ID, 100)
		for i := len(rs) - 1; i >= 0; i-- {
			ro := rs[i]
			r.t.Logf("%s rollout #%d %s v%d→v%d: %s (%s)", app.Name, ro.ID, ro.Kind, ro.FromRelease, ro.ToRelease, ro.State, ro.Reason)
			evs, _ := r.st.RolloutEvents(ctx, ro.ID, 0, 1000)
			for _, e := range evs {
				r.t.Logf("    %s %s: %s", e.Time.Format("15:04:05.000"), e.Kind, e.Message)
			}
		}
	}
}

func (r *rig) createApp(name string) *store.App {
	r.t.Helper()
	app, err := r.st.CreateApp(context.Background(), name, r.team, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return app
}

// app reads an app back: the engine acts on the app as the store has it.
func (r *rig) app(name string) *store.App {
	r.t.Helper()
	app, err := r.st.App(context.Background(), name)
	if err != nil {
		r.t.Fatal(err)
	}
	return app
}

// release describes one version of the hello app.
type release struct {
	Version      int
	Instances    int
	StartTimeout string            // default 10s
	Env          map[string]string // added to VERSION
}

func (rel release) yaml(name string) string {
	if rel.Instances == 0 {
		rel.Instances = 1
	}
	if rel.StartTimeout == "" {
		rel.StartTimeout = "10s"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `name: %s
run: ./app
instances: %d
health:
  path: /healthz
  interval: 100ms
  timeout: 1s
  start_timeout: %s
deploy:
  strategy: rolling
  max_surge: 1
  max_unavailable: 0
  drain_timeout: 2s
  stop_timeout: 3s
env:
  VERSION: "%d"
`, name, rel.Instances, rel.StartTimeout, rel.Version)
	keys := make([]string, 0, len(rel.Env))
	for k := range rel.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %q\n", k, rel.Env[k])
	}
	return b.String()
}

// source prepares a source folder as an upload would leave it: the hello
// binary and a nonstop.yaml, and loads its spec.
func (r *rig) source(name string, rel release) (string, *spec.Spec) {
	r.t.Helper()
	return r.sourceOf(rel.yaml(name))
}

// sourceOf is source with its nonstop.yaml as given.
func (r *rig) sourceOf(yaml string) (string, *spec.Spec) {
	r.t.Helper()
	dir, err := os.MkdirTemp(r.data, "upload-")
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.Link(helloBin, filepath.Join(dir, "app")); err != nil {
		data, err := os.ReadFile(helloBin)
		if err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "app"), data, 0o755); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, spec.FileName), []byte(yaml), 0o644); err != nil {
		r.t.Fatal(err)
	}
	sp, err := spec.Load(dir)
	if err != nil {
		r.t.Fatalf("spec: %v\n%s", err, yaml)
	}
	return dir, sp
}

// deploy starts a deploy of rel to the app as the store has it now.
func (r *rig) deploy(name string, rel release) *store.Rollout {
	r.t.Helper()
	dir, sp := r.source(name, rel)
	return r.deploySource(name, dir, sp)
}

// deployWith starts a deploy of the hello binary with this nonstop.yaml.
func (r *rig) deployWith(name, yaml string) *store.Rollout {
	r.t.Helper()
	dir, sp := r.sourceOf(yaml)
	return r.deploySource(name, dir, sp)
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

// deployLive deploys rel and fails the test unless it goes live.
func (r *rig) deployLive(name string, rel release) *store.Rollout {
	r.t.Helper()
	ro := r.wait(r.deploy(name, rel).ID)
	if ro.State != store.RolloutDone {
		r.t.Fatalf("deploy v%d ended %s: %s", rel.Version, ro.State, ro.Reason)
	}
	return ro
}
