package rollout_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
)

func TestEngine_ScaleUpAndDownMovesTheRouteAndRemembersTheCount(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 1})
	first := r.active("hello")[0]

	up, err := r.eng.Scale(ctx, r.app("hello"), 3, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ro := r.wait(up.ID); ro.State != store.RolloutDone || ro.Kind != store.KindScale {
		t.Fatalf("scale up ended %s: %s", ro.State, ro.Reason)
	}
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("after scaling to 3: backends %v", got)
	}
	if app := r.app("hello"); app.Instances != 3 || app.LiveRelease != 1 {
		t.Errorf("app instances %d live v%d, want 3 and v1", app.Instances, app.LiveRelease)
	}
	if active := r.active("hello"); len(active) != 3 || !slices.ContainsFunc(active, func(in *store.Instance) bool { return in.ID == first.ID }) {
		t.Errorf("scaling up replaced the running instance: %v", active)
	}

	down, err := r.eng.Scale(ctx, r.app("hello"), 1, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ro := r.wait(down.ID); ro.State != store.RolloutDone {
		t.Fatalf("scale down ended %s: %s", ro.State, ro.Reason)
	}
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{1}) {
		t.Errorf("after scaling to 1: backends %v", got)
	}
	if active := r.active("hello"); len(active) != 1 || active[0].ID != first.ID {
		t.Errorf("scaling down should retire the newest instances and keep %s: %v", first.ID, active)
	}
	r.mustServe("hello", 1)

	// The count sticks for the next deploy, over the spec's.
	r.deployLive("hello", release{Version: 2, Instances: 2})
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{2}) {
		t.Errorf("deploy after scaling to 1: backends %v, want one of v2", got)
	}

	for _, n := range []int{0, -1, 101} {
		if _, err := r.eng.Scale(ctx, r.app("hello"), n, "tester"); !errors.Is(err, rollout.ErrInvalid) {
			t.Errorf("scale to %d: err %v, want ErrInvalid", n, err)
		}
	}
}

func TestEngine_ScaleBeforeAnyDeployAppliesAtTheFirstDeploy(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	ro, err := r.eng.Scale(context.Background(), r.app("hello"), 2, "tester")
	if err != nil || ro != nil {
		t.Fatalf("scale of a new app: rollout %v err %v; want it recorded without a rollout", ro, err)
	}
	r.deployLive("hello", release{Version: 1, Instances: 1})
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("backends %v, want two of v1", got)
	}
}

func TestEngine_StopServesMaintenanceAndStartBringsItBack(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2})
	before := r.active("hello")

	stop, err := r.eng.Stop(ctx, r.app("hello"), "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ro := r.wait(stop.ID); ro.State != store.RolloutDone || ro.Kind != store.KindStop {
		t.Fatalf("stop ended %s: %s", ro.State, ro.Reason)
	}
	code, body, h := r.get("hello", "/")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "maintenance") || h.Get("Retry-After") == "" {
		t.Errorf("stopped app: GET / = %d %q, want 503 maintenance page with Retry-After", code, body)
	}
	if rt, ok := r.route("hello"); !ok || !rt.Maintenance || len(rt.Backends) != 0 {
		t.Errorf("route of a stopped app = %+v", rt)
	}
	if active := r.active("hello"); len(active) != 0 {
		t.Errorf("active instances of a stopped app: %v", active)
	}
	for _, in := range before {
		if st, err := r.rt.Status(ctx, in.ID); err != nil || st.State != runtime.StateExited {
			t.Errorf("instance %s of a stopped app: %+v %v", in.ID, st, err)
		}
	}
	app := r.app("hello")
	if app.State != store.AppStopped || app.LiveRelease != 1 {
		t.Errorf("app state %s live v%d, want stopped with v1 kept", app.State, app.LiveRelease)
	}
	if _, err := r.eng.Stop(ctx, app, "tester"); !errors.Is(err, rollout.ErrInvalid) {
		t.Errorf("stopping a stopped app: %v, want ErrInvalid", err)
	}

	start, err := r.eng.Start(ctx, app, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ro := r.wait(start.ID); ro.State != store.RolloutDone || ro.Kind != store.KindStart {
		t.Fatalf("start ended %s: %s", ro.State, ro.Reason)
	}
	r.mustServe("hello", 1)
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("backends after start %v, want two of v1", got)
	}
	if rt, _ := r.route("hello"); rt.Maintenance {
		t.Error("route still in maintenance after start")
	}
	if app := r.app("hello"); app.State != store.AppRunning {
		t.Errorf("app state %s after start", app.State)
	}
}

func TestEngine_StartOfANeverDeployedAppIsInvalid(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	if _, err := r.eng.Start(context.Background(), r.app("hello"), "tester"); !errors.Is(err, rollout.ErrInvalid) {
		t.Errorf("err %v, want ErrInvalid", err)
	}
}

func TestEngine_RollbackReturnsToThePreviousRelease(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	if _, err := r.eng.Rollback(ctx, r.app("hello"), 0, "tester"); !errors.Is(err, rollout.ErrInvalid) {
		t.Errorf("rollback of a never deployed app: %v, want ErrInvalid", err)
	}
	r.deployLive("hello", release{Version: 1, Instances: 2})
	if _, err := r.eng.Rollback(ctx, r.app("hello"), 0, "tester"); !errors.Is(err, rollout.ErrInvalid) {
		t.Errorf("rollback with nothing before v1: %v, want ErrInvalid", err)
	}
	r.deployLive("hello", release{Version: 2, Instances: 2})
	r.mustServe("hello", 2)

	ro, err := r.eng.Rollback(ctx, r.app("hello"), 0, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ro.Kind != store.KindRollback || ro.FromRelease != 2 || ro.ToRelease != 1 {
		t.Errorf("rollback rollout = %+v", ro)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutDone {
		t.Fatalf("rollback ended %s: %s", ended.State, ended.Reason)
	}
	r.mustServe("hello", 1)
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("backends %v, want two of v1", got)
	}
	app := r.app("hello")
	if app.LiveRelease != 1 {
		t.Errorf("live v%d, want v1", app.LiveRelease)
	}
	rels, _ := r.st.Releases(ctx, app.ID)
	if len(rels) != 2 || rels[0].Status != store.ReleaseRetired || rels[1].Status != store.ReleaseLive {
		t.Errorf("releases after rollback: %v; want v2 retired, v1 live", rels)
	}
	if _, err := r.eng.Rollback(ctx, app, 1, "tester"); !errors.Is(err, rollout.ErrInvalid) {
		t.Errorf("rollback to the live release: %v, want ErrInvalid", err)
	}
	if _, err := r.eng.Rollback(ctx, app, 9, "tester"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rollback to a release that does not exist: %v, want ErrNotFound", err)
	}
}

func TestEngine_RollbackRefusesAReleaseThatFailed(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})
	r.deployLive("hello", release{Version: 2})
	bad := r.wait(r.deploy("hello", release{Version: 3, StartTimeout: "1s", Env: map[string]string{"UNHEALTHY": "1"}}).ID)
	if bad.State != store.RolloutRolledBack {
		t.Fatalf("v3 deploy ended %s", bad.State)
	}
	if _, err := r.eng.Rollback(ctx, r.app("hello"), 3, "tester"); !errors.Is(err, rollout.ErrInvalid) {
		t.Errorf("rollback to failed v3: %v, want ErrInvalid", err)
	}
	// The previous release is still the one before the live v2.
	ro, err := r.eng.Rollback(ctx, r.app("hello"), 0, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ro.ToRelease != 1 {
		t.Errorf("rollback goes to v%d, want v1", ro.ToRelease)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutDone {
		t.Fatalf("rollback ended %s: %s", ended.State, ended.Reason)
	}
	r.mustServe("hello", 1)
}

// A deploy (or a rollback) that ends done has made its release live: the
// app serves it, even when it was stopped before.
func TestEngine_DeployToAStoppedAppServesTheNewRelease(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})
	stop, err := r.eng.Stop(ctx, r.app("hello"), "tester")
	if err != nil {
		t.Fatal(err)
	}
	r.wait(stop.ID)

	ended := r.deployLive("hello", release{Version: 2})
	app := r.app("hello")
	if app.State != store.AppRunning || app.LiveRelease != 2 {
		t.Errorf("app state %s live v%d", app.State, app.LiveRelease)
	}
	code, body, _ := r.get("hello", "/")
	if code != http.StatusOK {
		rt, _ := r.route("hello")
		t.Fatalf("rollout #%d says %q, the app is %s, but GET / = %d %q (route maintenance=%v)",
			ended.ID, ended.Reason, app.State, code, strings.TrimSpace(body), rt.Maintenance)
	}
	r.mustServe("hello", 2)
}

func TestEngine_RollbackOfAStoppedAppServesTheOlderRelease(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})
	r.deployLive("hello", release{Version: 2})
	stop, err := r.eng.Stop(ctx, r.app("hello"), "tester")
	if err != nil {
		t.Fatal(err)
	}
	r.wait(stop.ID)
	ro, err := r.eng.Rollback(ctx, r.app("hello"), 1, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutDone {
		t.Fatalf("rollback ended %s: %s", ended.State, ended.Reason)
	}
	if code, body, _ := r.get("hello", "/"); code != http.StatusOK || !strings.Contains(body, "from v1") {
		t.Errorf("after a rollback that ended done: GET / = %d %q, want v1", code, strings.TrimSpace(body))
	}
}

func TestEngine_AppIsServedAtItsDomainsToo(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	if _, err := r.st.CreateApp(ctx, "hello", r.team, []string{"www.example.test"}); err != nil {
		t.Fatal(err)
	}
	r.deployLive("hello", release{Version: 1})
	rt, _ := r.route("hello")
	if !slices.Equal(rt.Hosts, []string{"hello.localhost", "www.example.test"}) {
		t.Errorf("hosts %v", rt.Hosts)
	}
	req, _ := http.NewRequest("GET", r.srv.URL+"/", nil)
	req.Host = "www.example.test"
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Version") != "1" {
		t.Errorf("GET at the app's domain: %d", resp.StatusCode)
	}
}

func TestEngine_AStopAbortedWhileDrainingEndsFailedAndTheAppCanStartAgain(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	dir, sp := r.source("hello", release{Version: 1})
	sp.Deploy.DrainTimeout = 30 * time.Second
	if ro := r.wait(r.deploySource("hello", dir, sp).ID); ro.State != store.RolloutDone {
		t.Fatalf("deploy ended %s: %s", ro.State, ro.Reason)
	}
	// A request in flight holds the drain of the stop.
	go func() {
		req, _ := http.NewRequest("GET", r.srv.URL+"/slow?ms=20000", nil)
		req.Host = "hello.localhost"
		if resp, err := r.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if !eventually(5*time.Second, func() bool {
		sts, _ := r.px.Status(ctx, "hello")
		return len(sts) == 1 && sts[0].InFlight == 1
	}) {
		t.Fatal("the slow request never reached the instance")
	}
	stop, err := r.eng.Stop(ctx, r.app("hello"), "tester")
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool {
		active := r.active("hello")
		return len(active) == 1 && active[0].State == store.InstanceDraining
	}) {
		t.Fatal("the stop never began to drain the instance")
	}

	if !r.eng.Abort(stop.ID, "aborted by tester") {
		t.Fatal("Abort: the stop is not running here")
	}

	ended := r.wait(stop.ID)
	if ended.State != store.RolloutFailed || !strings.Contains(ended.Reason, "aborted by tester") {
		t.Fatalf("aborted stop ended %s (%s), want failed, saying it was aborted", ended.State, ended.Reason)
	}
	start, err := r.eng.Start(ctx, r.app("hello"), "tester")
	if err != nil {
		t.Fatalf("start after an aborted stop: %v", err)
	}
	if ro := r.wait(start.ID); ro.State != store.RolloutDone {
		t.Fatalf("start ended %s: %s", ro.State, ro.Reason)
	}
	r.mustServe("hello", 1)
}
