package rollout_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
)

func TestEngine_DeleteStopsInstancesAndForgetsTheApp(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.createApp("other")
	r.deployLive("hello", release{Version: 1, Instances: 2})
	r.deployLive("other", release{Version: 1})
	instances := r.active("hello")

	if err := r.eng.Delete(ctx, r.app("hello")); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.route("hello"); ok {
		t.Error("the deleted app still has a route")
	}
	if code, _, _ := r.get("hello", "/"); code != http.StatusNotFound {
		t.Errorf("GET / of a deleted app = %d, want 404", code)
	}
	if _, err := r.st.App(ctx, "hello"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted app still recorded: %v", err)
	}
	for _, in := range instances {
		if st, err := r.rt.Status(ctx, in.ID); err == nil && st.State == runtime.StateRunning {
			t.Errorf("instance %s of the deleted app still runs", in.ID)
		}
	}
	if _, err := os.Stat(filepath.Join(r.data, "apps", "hello")); !os.IsNotExist(err) {
		t.Errorf("the deleted app's builds are kept: %v", err)
	}
	r.mustServe("other", 1)
}

func TestEngine_DeleteRefusesWhileARolloutRuns(t *testing.T) {
	r := newRig(t)
	r.createApp("hello")
	ro := r.deploy("hello", release{Version: 1, Env: map[string]string{"STARTUP_DELAY_MS": "1000"}})
	if err := r.eng.Delete(context.Background(), r.app("hello")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("delete during a rollout: %v, want ErrConflict", err)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutDone {
		t.Errorf("deploy ended %s: %s", ended.State, ended.Reason)
	}
}

// An app that never went live has no route in the proxy: deleting it must
// still work (a user creates an app by mistake and deletes it at once).
func TestEngine_DeleteOfANeverDeployedAppWorks(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("fresh")
	if err := r.eng.Delete(ctx, r.app("fresh")); err != nil {
		t.Errorf("delete of a new app: %v", err)
	}
	if _, err := r.st.App(ctx, "fresh"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app still recorded: %v", err)
	}

	// Nor does a first deploy that failed leave a route behind.
	r.createApp("hello")
	if ro := r.wait(r.deploy("hello", release{Version: 1, StartTimeout: "1s", Env: map[string]string{"UNHEALTHY": "1"}}).ID); ro.State != store.RolloutRolledBack {
		t.Fatalf("deploy ended %s", ro.State)
	}
	if err := r.eng.Delete(ctx, r.app("hello")); err != nil {
		t.Errorf("delete of an app whose first deploy failed: %v", err)
	}
}
