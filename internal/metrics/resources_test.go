package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nonstopdev/nonstop/internal/metrics"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/runtime/process"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// An app's live release, the state of its newest rollout, and what its
// instance (a real process) uses.
func TestCollector_ExportsInstancesResourcesRolloutStateAndLiveRelease(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	shop, err := st.App(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRelease(ctx, shop.ID, 0, t.TempDir(), spec.Spec{}, nil, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := st.MakeLive(ctx, shop.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRollout(ctx, store.Rollout{AppID: shop.ID, Kind: store.KindDeploy, ToRelease: 2, Instances: 1, CreatedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	rt, err := process.New(process.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.StopAll(context.Background(), time.Second); rt.Close() })
	// shop-1 is the store's serving instance: the runtime runs it.
	if _, err := rt.Start(ctx, runtime.InstanceSpec{ID: "shop-1", App: "shop", Release: 1, Dir: t.TempDir(),
		Command: `python3 -c 'import time; b = bytearray(32 << 20); t = time.process_time()
while time.process_time() - t < 0.3: pass
print("ready", flush=True); time.sleep(60)'`}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for u, _ := rt.Usage(ctx, "shop-1"); u.CPUSeconds < 0.3 && time.Now().Before(deadline); u, _ = rt.Usage(ctx, "shop-1") {
		time.Sleep(50 * time.Millisecond)
	}

	c := metrics.NewCollector(startProxy(t).px, st, metrics.Options{Usage: rt, Timeout: 5 * time.Second})
	want := `
# HELP nonstop_release_live The release that serves the app (1); apps with none are left out.
# TYPE nonstop_release_live gauge
nonstop_release_live{app="shop",release="1"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "nonstop_release_live"); err != nil {
		t.Error(err)
	}
	reg := metrics.NewRegistry(c)
	for state, want := range map[store.RolloutState]float64{store.RolloutPending: 1, store.RolloutDone: 0, store.RolloutShifting: 0} {
		if v := value(t, reg, "nonstop_rollout_state", "app=shop,state="+string(state)); v != want {
			t.Errorf("nonstop_rollout_state{shop,%s} = %g, want %g", state, v, want)
		}
	}
	if n, _ := testutil.GatherAndCount(reg, "nonstop_rollout_state"); n != len(store.RolloutStates) {
		t.Errorf("%d rollout state series, want one per state (%d) for the one app with a rollout", n, len(store.RolloutStates))
	}
	if cpu := value(t, reg, "nonstop_instance_cpu_seconds_total", "app=shop,instance=shop-1,release=1"); cpu < 0.3 {
		t.Errorf("shop-1's CPU time %gs, want the 0.3s it burnt", cpu)
	}
	if mem := value(t, reg, "nonstop_instance_memory_bytes", "app=shop,instance=shop-1,release=1"); mem < 32<<20 {
		t.Errorf("shop-1's memory %g bytes, want the 32 MiB it holds", mem)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Errorf("lint: %+v, %v", problems, err)
	}
}
