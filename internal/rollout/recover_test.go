package rollout_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
)

// pids maps each active instance of the app to its process id.
func (r *rig) pids(app string) map[string]int {
	r.t.Helper()
	out := map[string]int{}
	for _, in := range r.active(app) {
		st, err := r.rt.Status(context.Background(), in.ID)
		if err != nil || st.State != runtime.StateRunning {
			r.t.Fatalf("instance %s: %+v %v", in.ID, st, err)
		}
		out[in.ID] = st.PID
	}
	return out
}

func TestEngine_RecoverAdoptsRunningInstancesAndKeepsRoutes(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2})
	before := r.pids("hello")
	routeBefore, _ := r.route("hello")

	load := loadgen.Start(ctx, loadgen.Config{URL: r.srv.URL, Host: "hello.localhost", Workers: 2, Pause: 5 * time.Millisecond, MaxDuration: 60 * time.Second})
	r.restart()
	r.mustServe("hello", 1) // the data plane does not need the control plane
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	res := load.Stop()
	if res.Failed != 0 || res.OK == 0 {
		t.Errorf("load across the restart: %d ok, %d failed: %v", res.OK, res.Failed, res.Errors)
	}

	after := r.pids("hello")
	if len(after) != len(before) {
		t.Fatalf("instances before %v, after %v", before, after)
	}
	for id, pid := range before {
		if after[id] != pid {
			t.Errorf("instance %s: pid %d before, %d after: it was restarted, not adopted", id, pid, after[id])
		}
	}
	routeAfter, _ := r.route("hello")
	if !slices.Equal(routeAfter.Backends, routeBefore.Backends) || !slices.Equal(routeAfter.Hosts, routeBefore.Hosts) {
		t.Errorf("route changed by recover:\nbefore %+v\nafter  %+v", routeBefore, routeAfter)
	}
	if rs, _ := r.st.Rollouts(ctx, r.app("hello").ID, 10); len(rs) != 1 {
		t.Errorf("recover of a healthy app made rollouts: %d in all", len(rs))
	}
	// The adopted instances are supervised again and can be replaced.
	r.deployLive("hello", release{Version: 2, Instances: 2})
	r.mustServe("hello", 2)
	for id := range before {
		if st, err := r.rt.Status(ctx, id); err != nil || st.State != runtime.StateExited {
			t.Errorf("adopted instance %s after the next deploy: %+v %v", id, st, err)
		}
	}
}

func TestEngine_RecoverReplacesInstancesThatDiedWhileItWasDown(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2})
	active := r.active("hello")
	dead := active[0]

	r.restart()
	// While nonstop is down, one instance goes away.
	if err := r.rt.Stop(ctx, dead.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	var heal *store.Rollout
	if !eventually(20*time.Second, func() bool {
		rs, _ := r.st.Rollouts(ctx, r.app("hello").ID, 1)
		if len(rs) == 1 && rs[0].Kind == store.KindRecover && rs[0].State.Terminal() {
			heal = rs[0]
			return true
		}
		return false
	}) {
		t.Fatal("no recover rollout ended")
	}
	if heal.State != store.RolloutDone {
		t.Fatalf("recover rollout ended %s: %s", heal.State, heal.Reason)
	}
	now := r.active("hello")
	if len(now) != 2 || slices.ContainsFunc(now, func(in *store.Instance) bool { return in.ID == dead.ID }) {
		t.Errorf("active after recover: %v; want 2, without %s", now, dead.ID)
	}
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("backends %v, want two of v1", got)
	}
	all, _ := r.st.Instances(ctx, r.app("hello").ID, 100)
	for _, in := range all {
		if in.ID == dead.ID && in.State != store.InstanceStopped {
			t.Errorf("the instance that died is recorded %s, want stopped", in.State)
		}
	}
	r.mustServe("hello", 1)
}

func TestEngine_RecoverStopsInstancesTheStoreDoesNotKnow(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})
	orphan, err := r.rt.Start(ctx, runtime.InstanceSpec{ID: "hello-v9-orphan", App: "hello", Release: 9, Dir: r.data, Command: "sleep 30"})
	if err != nil {
		t.Fatal(err)
	}
	r.restart()
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if st, err := r.rt.Status(ctx, orphan.ID); err != nil || st.State != runtime.StateExited {
		t.Errorf("orphan instance after recover: %+v %v, want exited", st, err)
	}
	r.mustServe("hello", 1)
}

func TestEngine_RecoverRemovesRoutesOfAppsThatAreGone(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})
	route, _ := r.route("hello")
	route.App = "ghost"
	route.Hosts = []string{"ghost.localhost"}
	if err := r.px.SetRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
	r.restart()
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.route("ghost"); ok {
		t.Error("recover kept the route of an app the store does not have")
	}
	r.mustServe("hello", 1)
}
