package rollout

import (
	"slices"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/store"
)

// Each action is offered in exactly the states where the engine takes it.
func TestActions_AreOfferedOnlyWhereTheyApply(t *testing.T) {
	running := &store.App{Name: "a", State: store.AppRunning, LiveRelease: 3}
	stopped := &store.App{Name: "a", State: store.AppStopped, LiveRelease: 3}
	fresh := &store.App{Name: "a", State: store.AppNew}
	ro := func(s store.RolloutState) *store.Rollout { return &store.Rollout{State: s} }
	cases := []struct {
		name                       string
		app                        *store.App
		last                       *store.Rollout
		progressive, judged, older bool
		want                       string
	}{
		{"a new app", fresh, nil, false, false, false, "deploy env scale"},
		{"running, nothing to go back to", running, ro(store.RolloutDone), false, false, false, "deploy env scale stop"},
		{"running, an older release kept", running, ro(store.RolloutDone), false, false, true, "deploy env scale stop rollback"},
		{"after a rolled back deploy", running, ro(store.RolloutRolledBack), false, false, true, "deploy env scale stop rollback"},
		{"after a failed one", running, ro(store.RolloutFailed), false, false, true, "deploy env scale stop rollback"},
		{"stopped", stopped, ro(store.RolloutDone), false, false, true, "deploy env scale start"},
		{"rolling: pending", running, ro(store.RolloutPending), false, false, true, "abort"},
		{"rolling: building", running, ro(store.RolloutBuilding), false, false, true, "abort"},
		{"rolling: starting", running, ro(store.RolloutStarting), false, false, true, "abort"},
		{"rolling: shifting", running, ro(store.RolloutShifting), false, false, true, "abort"},
		{"rolling: verifying", running, ro(store.RolloutVerifying), false, false, true, "abort"},
		{"rolling back", running, ro(store.RolloutRollingBack), false, false, true, ""},
		{"canary: starting", running, ro(store.RolloutStarting), true, true, true, "abort"},
		{"canary: at a step", running, ro(store.RolloutShifting), true, true, true, "promote pause abort"},
		{"canary: paused", running, ro(store.RolloutPaused), true, true, true, "promote resume abort"},
		{"canary: verifying", running, ro(store.RolloutVerifying), true, true, true, "abort"},
		{"canary: rolling back", running, ro(store.RolloutRollingBack), true, true, true, ""},
		{"blue-green: waiting for its promotion", running, ro(store.RolloutShifting), true, false, true, "promote abort"},
	}
	for _, c := range cases {
		got := strings.Join(Actions(c.app, c.last, c.progressive, c.judged, c.older), " ")
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// Every state of a rollout is covered above.
	seen := map[store.RolloutState]bool{}
	for _, c := range cases {
		if c.last != nil {
			seen[c.last.State] = true
		}
	}
	for _, s := range store.RolloutStates {
		if !seen[s] {
			t.Errorf("no case for a rollout %s", s)
		}
	}
	if !slices.Contains(Actions(fresh, nil, false, false, false), ActDeploy) {
		t.Error("a new app cannot be deployed")
	}
}

func TestCanRollBackTo_OnlyAKeptReleaseThatServed(t *testing.T) {
	app := &store.App{LiveRelease: 3}
	kept := t.TempDir()
	for _, c := range []struct {
		rel  store.Release
		want bool
	}{
		{store.Release{Version: 2, Status: store.ReleaseRetired, Dir: kept}, true},
		{store.Release{Version: 2, Status: store.ReleaseRetired, Dir: kept + "/gone"}, false},
		{store.Release{Version: 2, Status: store.ReleaseRetired, Dir: "/gone", Image: "r/a@sha256:1"}, true},
		{store.Release{Version: 3, Status: store.ReleaseLive, Dir: kept}, false},
		{store.Release{Version: 4, Status: store.ReleaseFailed, Dir: kept}, false},
		{store.Release{Version: 5, Status: store.ReleasePending, Dir: kept}, false},
	} {
		if got := CanRollBackTo(app, &c.rel); got != c.want {
			t.Errorf("v%d %s (dir %s, image %q): %v, want %v", c.rel.Version, c.rel.Status, c.rel.Dir, c.rel.Image, got, c.want)
		}
	}
}
