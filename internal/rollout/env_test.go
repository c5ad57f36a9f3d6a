package rollout_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestEngine_EnvChangeRollsOutANewReleaseOfTheSameBuild(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1, Instances: 2, Env: map[string]string{"GREETING": "hello"}})

	ro, err := r.eng.SetEnv(ctx, r.app("hello"), map[string]string{"GREETING": "bonjour"}, nil, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ro.Kind != store.KindEnv || ro.FromRelease != 1 || ro.ToRelease != 2 {
		t.Errorf("env rollout = %+v", ro)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutDone {
		t.Fatalf("env rollout ended %s: %s", ended.State, ended.Reason)
	}
	for range 3 {
		if code, body, _ := r.get("hello", "/"); code != 200 || !strings.Contains(body, "bonjour from v1") {
			t.Fatalf("GET / = %d %q, want bonjour from v1", code, body)
		}
	}
	app := r.app("hello")
	v1, _ := r.st.Release(ctx, app.ID, 1)
	v2, _ := r.st.Release(ctx, app.ID, 2)
	if v2.Build != v1.Build || v2.Dir != v1.Dir || v2.Env["GREETING"] != "bonjour" || v2.Env["VERSION"] != "1" {
		t.Errorf("v2 = build %d dir %s env %v; want v1's build and dir with the new env", v2.Build, v2.Dir, v2.Env)
	}
	if app.Env["GREETING"] != "bonjour" {
		t.Errorf("app env %v", app.Env)
	}

	// Unsetting falls back to the spec's own value.
	ro, err = r.eng.SetEnv(ctx, r.app("hello"), nil, []string{"GREETING"}, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutDone {
		t.Fatalf("unset rollout ended %s: %s", ended.State, ended.Reason)
	}
	if code, body, _ := r.get("hello", "/"); code != 200 || !strings.Contains(body, "hello from v1") {
		t.Errorf("after unset: GET / = %d %q", code, body)
	}
}

// A refused request must leave no trace: when another rollout runs, an env
// change is refused with ErrConflict, and the app's env stays as it was.
func TestEngine_EnvChangeRefusedDuringARolloutChangesNothing(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})
	slow := r.deploy("hello", release{Version: 2, Env: map[string]string{"STARTUP_DELAY_MS": "1500"}})

	_, err := r.eng.SetEnv(ctx, r.app("hello"), map[string]string{"SECRET": "s3cret"}, nil, "tester")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("env change during a rollout: err %v, want ErrConflict", err)
	}
	if ended := r.wait(slow.ID); ended.State != store.RolloutDone {
		t.Fatalf("deploy ended %s: %s", ended.State, ended.Reason)
	}
	app := r.app("hello")
	if _, ok := app.Env["SECRET"]; ok {
		t.Errorf("the refused env change was saved: app env %v", app.Env)
	}
	rels, _ := r.st.Releases(ctx, app.ID)
	if len(rels) != 2 {
		var vs []string
		for _, rel := range rels {
			vs = append(vs, rel.Description+" ("+string(rel.Status)+")")
		}
		t.Errorf("releases %v: the refused env change recorded a release", vs)
	}
}
