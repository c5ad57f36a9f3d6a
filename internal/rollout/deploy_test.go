package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

func TestEngine_FirstDeployGoesLiveWithAllInstancesInTheRoute(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	ro := r.deployLive("hello", release{Version: 1, Instances: 2})

	if ro.Kind != store.KindDeploy || ro.FromRelease != 0 || ro.ToRelease != 1 || ro.Instances != 2 || ro.FinishedAt.IsZero() {
		t.Errorf("rollout = %+v", ro)
	}
	app := r.app("hello")
	if app.LiveRelease != 1 || app.State != store.AppRunning {
		t.Errorf("app live v%d state %s, want v1 running", app.LiveRelease, app.State)
	}
	rel, err := r.st.Release(context.Background(), app.ID, 1)
	if err != nil || rel.Status != store.ReleaseLive {
		t.Errorf("release v1 = %+v, %v; want live", rel, err)
	}
	rt, ok := r.route("hello")
	if !ok {
		t.Fatal("no route for hello")
	}
	if !slices.Contains(rt.Hosts, "hello.localhost") || rt.Maintenance || rt.Health.Path != "/healthz" {
		t.Errorf("route = %+v", rt)
	}
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("backends of releases %v, want two of v1", got)
	}
	active := r.active("hello")
	if len(active) != 2 {
		t.Fatalf("active instances %d, want 2", len(active))
	}
	addrs := map[string]bool{}
	for _, b := range rt.Backends {
		addrs[b.ID+" "+b.Addr] = true
	}
	for _, in := range active {
		if in.State != store.InstanceServing || in.Release != 1 || !addrs[in.ID+" "+in.Addr] {
			t.Errorf("instance %+v is not serving v1 in the route %v", in, rt.Backends)
		}
		st, err := r.rt.Status(context.Background(), in.ID)
		if err != nil || st.State != runtime.StateRunning {
			t.Errorf("instance %s: runtime status %+v %v", in.ID, st, err)
		}
	}
	r.mustServe("hello", 1)
	code, body, _ := r.get("hello", "/")
	if code != 200 || !strings.Contains(body, "hello from v1") {
		t.Errorf("GET / = %d %q", code, body)
	}

	// The history tells the story: a release, instances, and the end.
	var kinds []string
	var states []string
	for _, e := range r.events(ro.ID) {
		kinds = append(kinds, e.Kind)
		if e.Kind == "state" {
			if s, ok := e.Data["state"].(string); ok {
				states = append(states, s)
			}
		}
	}
	if !slices.Contains(kinds, "release") || !slices.Contains(kinds, "instance") {
		t.Errorf("event kinds %v lack release or instance", kinds)
	}
	if len(states) == 0 || states[len(states)-1] != "done" {
		t.Errorf("state events %v should end with done", states)
	}
}

func TestEngine_SecondDeployReplacesInstancesOneByOneWithoutAFailedRequest(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2})
	old := r.active("hello")

	load := loadgen.Start(context.Background(), loadgen.Config{URL: r.srv.URL, Host: "hello.localhost", Workers: 2, Pause: 5 * time.Millisecond, MaxDuration: 60 * time.Second})
	ro := r.deploy("hello", release{Version: 2, Instances: 2})
	ended := r.wait(ro.ID)
	time.Sleep(200 * time.Millisecond) // some load after the end, too
	res := load.Stop()

	if ended.State != store.RolloutDone || ended.FromRelease != 1 || ended.ToRelease != 2 {
		t.Fatalf("rollout ended %s (%s), v%d→v%d", ended.State, ended.Reason, ended.FromRelease, ended.ToRelease)
	}
	if res.Failed != 0 || res.OK == 0 {
		t.Errorf("load: %d ok, %d failed during the rollout; want none failed: %v", res.OK, res.Failed, res.Errors)
	}
	if res.Versions["v1"] == 0 || res.Versions["v2"] == 0 {
		t.Logf("versions served: %s", res.VersionList())
	}
	r.mustServe("hello", 2)
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{2, 2}) {
		t.Errorf("backends of releases %v, want two of v2", got)
	}
	for _, in := range old {
		st, err := r.rt.Status(context.Background(), in.ID)
		if err != nil || st.State != runtime.StateExited {
			t.Errorf("old instance %s still runs: %+v %v", in.ID, st, err)
		}
	}
	rels, _ := r.st.Releases(context.Background(), r.app("hello").ID)
	if len(rels) != 2 || rels[0].Status != store.ReleaseLive || rels[1].Status != store.ReleaseRetired {
		t.Errorf("releases %v: want v2 live and v1 retired", rels)
	}

	// One by one with max_surge 1: start one new, retire one old, and again.
	var steps []string
	for _, e := range r.events(ro.ID) {
		if e.Kind == "step" {
			switch {
			case strings.Contains(e.Message, "start 1 instance(s) of v2"):
				steps = append(steps, "start")
			case strings.Contains(e.Message, "retire instance"):
				steps = append(steps, "retire")
			default:
				steps = append(steps, e.Message)
			}
		}
	}
	if fmt.Sprint(steps) != "[start retire start retire]" {
		t.Errorf("steps %v, want [start retire start retire]", steps)
	}
}

func TestEngine_FailedHealthCheckRollsBackAndLiveKeepsServing(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2})
	old := r.active("hello")

	load := loadgen.Start(context.Background(), loadgen.Config{URL: r.srv.URL, Host: "hello.localhost", Workers: 2, Pause: 5 * time.Millisecond, MaxDuration: 60 * time.Second})
	ro := r.wait(r.deploy("hello", release{Version: 2, Instances: 2, StartTimeout: "1500ms", Env: map[string]string{"UNHEALTHY": "1"}}).ID)
	res := load.Stop()

	if ro.State != store.RolloutRolledBack {
		t.Fatalf("rollout ended %s, want rolled_back", ro.State)
	}
	for _, want := range []string{"not healthy after", "unhealthy: UNHEALTHY is set", "last log lines", "v2 listening on"} {
		if !strings.Contains(ro.Reason, want) {
			t.Errorf("reason does not contain %q:\n%s", want, ro.Reason)
		}
	}
	if res.Failed != 0 || res.Versions["v2"] != 0 {
		t.Errorf("load during the failed rollout: %d failed, versions %s: %v", res.Failed, res.VersionList(), res.Errors)
	}
	app := r.app("hello")
	if app.LiveRelease != 1 {
		t.Errorf("live release v%d, want v1", app.LiveRelease)
	}
	rel2, _ := r.st.Release(context.Background(), app.ID, 2)
	if rel2 == nil || rel2.Status != store.ReleaseFailed {
		t.Errorf("release v2 = %+v, want failed", rel2)
	}
	r.mustServe("hello", 1)
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("backends of releases %v, want the two of v1", got)
	}
	active := r.active("hello")
	if len(active) != 2 || !sameIDs(active, old) {
		t.Errorf("active after rollback %v, want the old v1 instances %v", active, old)
	}
	for _, in := range active {
		if in.Release != 1 || in.State != store.InstanceServing {
			t.Errorf("instance %+v", in)
		}
	}
	// The failed instance was stopped, and nothing of v2 runs.
	list, _ := r.st.Instances(context.Background(), app.ID, 100)
	for _, in := range list {
		if in.Release == 2 {
			if in.State != store.InstanceFailed {
				t.Errorf("v2 instance %s left %s", in.ID, in.State)
			}
			if st, err := r.rt.Status(context.Background(), in.ID); err == nil && st.State != runtime.StateExited {
				t.Errorf("v2 instance %s still runs: %+v", in.ID, st)
			}
		}
	}
}

func TestEngine_CrashOnStartIsDetectedWithoutWaitingForTheStartTimeout(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})

	// The start timeout is far longer than the bound of this test: only
	// noticing the exit can end the rollout in time.
	ro := r.deploy("hello", release{Version: 2, StartTimeout: "5m", Env: map[string]string{"CRASH_ON_START": "1"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ended, err := r.eng.Wait(ctx, ro.ID)
	if err != nil {
		t.Fatalf("a crashing instance was not noticed: %v", err)
	}
	if ended.State != store.RolloutRolledBack {
		t.Fatalf("ended %s, want rolled_back", ended.State)
	}
	for _, want := range []string{"exited", "CRASH_ON_START is set"} {
		if !strings.Contains(ended.Reason, want) {
			t.Errorf("reason does not contain %q:\n%s", want, ended.Reason)
		}
	}
	r.mustServe("hello", 1)
}

func TestEngine_DeployRefusesWhileAnotherRolloutRuns(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	first := r.deploy("hello", release{Version: 1, Env: map[string]string{"STARTUP_DELAY_MS": "1500"}})

	_, sp := r.source("hello", release{Version: 2})
	_, err := r.eng.Begin(context.Background(), r.app("hello"), sp, "tester")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second deploy: err %v, want ErrConflict", err)
	}
	if ro := r.wait(first.ID); ro.State != store.RolloutDone {
		t.Errorf("first deploy ended %s: %s", ro.State, ro.Reason)
	}
	if rs, _ := r.st.Rollouts(context.Background(), r.app("hello").ID, 10); len(rs) != 1 {
		t.Errorf("%d rollouts recorded, want 1", len(rs))
	}
}

func TestEngine_FirstDeployThatFailsLeavesNothingRunning(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	ro := r.wait(r.deploy("hello", release{Version: 1, Instances: 2, StartTimeout: "1s", Env: map[string]string{"UNHEALTHY": "1"}}).ID)
	if ro.State != store.RolloutRolledBack {
		t.Fatalf("ended %s: %s", ro.State, ro.Reason)
	}
	app := r.app("hello")
	if app.LiveRelease != 0 || app.State != store.AppNew {
		t.Errorf("app live v%d state %s, want never deployed", app.LiveRelease, app.State)
	}
	if active := r.active("hello"); len(active) != 0 {
		t.Errorf("active instances left: %v", active)
	}
	if code, _, _ := r.get("hello", "/"); code == http.StatusOK {
		t.Errorf("GET / = 200 from an app that never went live")
	}
}

// The rollout that Deploy, Scale and Stop return belongs to the caller, who
// reads it while the rollout runs (the API encodes it as its answer): the
// engine must work on its own copy and leave the returned one as created.
func TestEngine_ReturnedRolloutIsTheCallersAndStaysAsCreated(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")

	check := func(what string, ro *store.Rollout) {
		t.Helper()
		// Read it while the engine works, as an API handler does.
		done := make(chan string)
		go func() {
			var last string
			for range 100 {
				last = fmt.Sprint(ro.State, ro.Step, ro.Reason, ro.ToRelease, ro.Instances)
				time.Sleep(2 * time.Millisecond)
			}
			done <- last
		}()
		ended := r.wait(ro.ID)
		<-done
		if ended.State != store.RolloutDone {
			t.Fatalf("%s ended %s: %s", what, ended.State, ended.Reason)
		}
		if ro.State != store.RolloutPending || ro.Step != 0 || ro.Reason != "" {
			t.Errorf("%s: the returned rollout was changed by the engine after it was returned: state %s step %d reason %q",
				what, ro.State, ro.Step, ro.Reason)
		}
	}
	check("deploy", r.deploy("hello", release{Version: 1}))
	scale, err := r.eng.Scale(ctx, r.app("hello"), 2, "tester")
	if err != nil {
		t.Fatal(err)
	}
	check("scale", scale)
	stop, err := r.eng.Stop(ctx, r.app("hello"), "tester")
	if err != nil {
		t.Fatal(err)
	}
	check("stop", stop)
}

// deploySource starts a deploy of a prepared source as the pipeline does
// once it has built it: the rollout begun, the build and the release of
// the folder as it is recorded, then the release rolled out.
func (r *rig) deploySource(name, dir string, sp *spec.Spec) *store.Rollout {
	r.t.Helper()
	ctx := context.Background()
	app := r.app(name)
	ro, err := r.eng.Begin(ctx, app, sp, "tester")
	if err != nil {
		r.t.Fatalf("deploy: %v", err)
	}
	n, err := r.st.NextBuildNumber(ctx, app.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	b, err := r.st.CreateBuild(ctx, app.ID, n, "test", dir)
	if err != nil {
		r.t.Fatal(err)
	}
	rel, err := r.st.CreateRelease(ctx, app.ID, n, dir, *sp, rollout.ReleaseEnv(sp, app.Env), fmt.Sprintf("build #%d (test)", n))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.st.FinishBuild(ctx, b.ID, store.BuildSucceeded, ""); err != nil {
		r.t.Fatal(err)
	}
	if err := r.eng.RollOut(ro, rel); err != nil {
		r.t.Fatalf("roll out v%d: %v", rel.Version, err)
	}
	return ro
}

// port: is a container's; a process listens on the free port nonstop
// gives it in $PORT, so a port: naming one nonstop listens on (here the
// proxy's) neither publishes nonstop's own service nor fails.
func TestEngine_AProcessListensOnItsOwnPortWhateverPortSays(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	_, taken, err := net.SplitHostPort(strings.TrimPrefix(r.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	yaml := release{Version: 1, Instances: 2}.yaml("hello") + "port: " + taken + "\n"
	if ro := r.wait(r.deployWith("hello", yaml).ID); ro.State != store.RolloutDone {
		t.Fatalf("deploy with port: %s ended %s: %s", taken, ro.State, ro.Reason)
	}
	for _, in := range r.active("hello") {
		if strings.HasSuffix(in.Addr, ":"+taken) {
			t.Errorf("instance %s listens on %s, the port nonstop's proxy has", in.ID, in.Addr)
		}
	}
	r.mustServe("hello", 1)
}
