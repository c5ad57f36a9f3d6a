package rollout_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
)

// A rollout cut short by a stopping nonstop, while a new instance waits to
// become healthy, is finished (or rolled back) by the next start: it never
// stays in progress, and no instance stays starting.
func TestEngine_RolloutInterruptedWhileWaitingForHealthEndsAfterRecover(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2})

	ro := r.deploy("hello", release{Version: 2, Instances: 2, Env: map[string]string{"STARTUP_DELAY_MS": "1500"}})
	var waiting *store.Instance
	if !eventually(10*time.Second, func() bool {
		for _, in := range r.active("hello") {
			if in.Release == 2 && in.State == store.InstanceStarting && in.Addr != "" {
				waiting = in
				return true
			}
		}
		return false
	}) {
		t.Fatal("no v2 instance started")
	}
	load := loadgen.Start(ctx, loadgen.Config{URL: r.srv.URL, Host: "hello.localhost", Workers: 2, Pause: 5 * time.Millisecond, MaxDuration: 60 * time.Second})
	r.restart() // Close cuts the rollout short where it stands
	mid, _ := r.st.Rollout(ctx, ro.ID)
	if mid.State.Terminal() {
		t.Fatalf("the rollout ended (%s) when nonstop stopped; it should be left to resume", mid.State)
	}
	r.mustServe("hello", 1)

	if err := r.eng.Recover(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	ended := r.wait(ro.ID)
	res := load.Stop()
	t.Logf("interrupted in %s, ended %s: %s", mid.State, ended.State, ended.Reason)
	if ended.State != store.RolloutDone && ended.State != store.RolloutRolledBack {
		t.Fatalf("interrupted rollout ended %s: %s", ended.State, ended.Reason)
	}
	if res.Failed != 0 {
		t.Errorf("load across the interruption: %d failed: %v", res.Failed, res.Errors)
	}
	want := 1
	if ended.State == store.RolloutDone {
		want = 2
	}
	for _, in := range r.active("hello") {
		if in.State != store.InstanceServing || in.Release != want {
			t.Errorf("after recovery: instance %s is %s of v%d, want serving v%d", in.ID, in.State, in.Release, want)
		}
	}
	if st, err := r.rt.Status(ctx, waiting.ID); err == nil && st.State == runtime.StateRunning {
		if !slices.ContainsFunc(r.active("hello"), func(in *store.Instance) bool { return in.ID == waiting.ID }) {
			t.Errorf("instance %s that was starting still runs but is not active", waiting.ID)
		}
	}
	if got := r.backendReleases("hello"); !slices.Equal(got, repeat(want, 2)) {
		t.Errorf("backends %v, want two of v%d", got, want)
	}
	r.mustServe("hello", want)
	if app := r.app("hello"); app.LiveRelease != want {
		t.Errorf("live v%d, want v%d", app.LiveRelease, want)
	}
	if un, _ := r.st.UnfinishedRollouts(ctx); len(un) != 0 {
		t.Errorf("rollouts left unfinished: %v", un)
	}
}

// A deploy interrupted while it builds cannot resume (its build was cut
// short): it ends failed, at once or at the next start, and changes nothing.
// The pipeline builds; the engine holds the rollout in building meanwhile.
func TestEngine_DeployInterruptedWhileBuildingEndsFailedAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})

	_, sp := r.source("hello", release{Version: 2})
	if _, err := r.eng.Begin(ctx, r.app("hello"), sp, "tester"); err != nil {
		t.Fatal(err)
	}
	var ro *store.Rollout
	if !eventually(10*time.Second, func() bool {
		rs, _ := r.st.Rollouts(ctx, r.app("hello").ID, 1)
		ro = rs[0]
		return ro.State == store.RolloutBuilding
	}) {
		t.Fatal("deploy never reached building")
	}
	r.restart()
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	ended := r.wait(ro.ID)
	if ended.State != store.RolloutFailed {
		t.Errorf("deploy interrupted while building ended %s: %s", ended.State, ended.Reason)
	}
	if app := r.app("hello"); app.LiveRelease != 1 {
		t.Errorf("live v%d", app.LiveRelease)
	}
	r.mustServe("hello", 1)
}

// A rollout cut short while an old instance drains a long request resumes
// the drain after the restart: the request still completes.
func TestEngine_RolloutInterruptedWhileDrainingFinishesTheDrainAfterRecover(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})
	old := r.active("hello")[0]

	type answer struct {
		code int
		body string
	}
	slow := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("GET", r.srv.URL+"/slow?ms=2500", nil)
		req.Host = "hello.localhost"
		resp, err := r.client.Do(req)
		if err != nil {
			slow <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- answer{resp.StatusCode, string(b)}
	}()
	if !eventually(5*time.Second, func() bool {
		sts, _ := r.px.Status(ctx, "hello")
		return len(sts) == 1 && sts[0].InFlight == 1
	}) {
		t.Fatal("the slow request never reached the instance")
	}

	dir, sp := r.source("hello", release{Version: 2})
	sp.Deploy.DrainTimeout = 20 * time.Second
	ro := r.deploySource("hello", dir, sp)
	if !eventually(10*time.Second, func() bool {
		for _, in := range r.active("hello") {
			if in.ID == old.ID && in.State == store.InstanceDraining {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the old instance never drained")
	}
	r.restart()
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	got := <-slow
	if got.code != http.StatusOK || !strings.Contains(got.body, "slow 2500ms from v1") {
		t.Errorf("slow request in flight across the restart: %d %q", got.code, got.body)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutDone {
		t.Fatalf("rollout ended %s: %s", ended.State, ended.Reason)
	}
	r.mustServe("hello", 2)
	if st, err := r.rt.Status(ctx, old.ID); err != nil || st.State != runtime.StateExited {
		t.Errorf("old instance after the resumed drain: %+v %v", st, err)
	}
}

// craftRelease records release v of the hello app without deploying it, as
// a rollout that crashed after building would have left it.
func craftRelease(r *rig, v int) *store.Release {
	r.t.Helper()
	dir, sp := r.source("hello", release{Version: v, Instances: 2})
	rel, err := r.st.CreateRelease(context.Background(), r.app("hello").ID, v, dir, *sp, sp.Env, "crafted")
	if err != nil {
		r.t.Fatal(err)
	}
	if rel.Version != v {
		r.t.Fatalf("crafted release is v%d, want v%d", rel.Version, v)
	}
	return rel
}

// craftRollout records a deploy from the live release to v that reached
// the given states, as if nonstop crashed right after recording the last.
func craftRollout(r *rig, v int, reason string, states ...store.RolloutState) *store.Rollout {
	r.t.Helper()
	ctx := context.Background()
	app := r.app("hello")
	ro, err := r.st.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindDeploy, FromRelease: app.LiveRelease, Strategy: "rolling", CreatedBy: "tester"})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.st.SetRolloutTarget(ctx, ro.ID, v, 2); err != nil {
		r.t.Fatal(err)
	}
	for i, s := range states {
		if err := r.st.Transition(ctx, ro.ID, s, i, reason); err != nil {
			r.t.Fatal(err)
		}
	}
	return ro
}

// Each transition is recorded before its action: a crash right after
// "shifting" was written, before any instance started, resumes from there.
func TestEngine_RecoverContinuesARolloutRecordedBeforeItsFirstAction(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2})
	craftRelease(r, 2)
	ro := craftRollout(r, 2, "", store.RolloutStarting, store.RolloutShifting)

	r.restart()
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	ended := r.wait(ro.ID)
	if ended.State != store.RolloutDone {
		t.Fatalf("resumed rollout ended %s: %s", ended.State, ended.Reason)
	}
	r.mustServe("hello", 2)
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{2, 2}) {
		t.Errorf("backends %v, want two of v2", got)
	}
}

func TestEngine_RecoverFinishesARollbackInProgress(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2})
	craftRelease(r, 2)
	ro := craftRollout(r, 2, "instance hello-v2-x: not healthy after 5s", store.RolloutStarting, store.RolloutShifting, store.RolloutRollingBack)

	r.restart()
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	ended := r.wait(ro.ID)
	if ended.State != store.RolloutRolledBack {
		t.Fatalf("resumed rollback ended %s: %s", ended.State, ended.Reason)
	}
	if !strings.Contains(ended.Reason, "not healthy after 5s") {
		t.Errorf("the reason of the rollback was lost: %q", ended.Reason)
	}
	r.mustServe("hello", 1)
	if app := r.app("hello"); app.LiveRelease != 1 {
		t.Errorf("live v%d", app.LiveRelease)
	}
}

func TestEngine_RecoverKeepsAStoppedAppStopped(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})
	stop, err := r.eng.Stop(ctx, r.app("hello"), "tester")
	if err != nil {
		t.Fatal(err)
	}
	r.wait(stop.ID)
	r.restart()
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a wrongful heal would have started by now
	if active := r.active("hello"); len(active) != 0 {
		t.Errorf("recover started instances of a stopped app: %v", active)
	}
	if code, body, _ := r.get("hello", "/"); code != http.StatusServiceUnavailable || !strings.Contains(body, "maintenance") {
		t.Errorf("GET / = %d %q, want the maintenance page", code, body)
	}
}
