package rollout

import (
	"testing"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

func backendsOf(releases ...int) []proxy.Backend {
	var bs []proxy.Backend
	for _, v := range releases {
		bs = append(bs, proxy.Backend{Release: v})
	}
	return bs
}

func TestThePinTakesEveryClientOnlyOnceItsReleaseServesInFull(t *testing.T) {
	for _, c := range []struct {
		name     string
		rt       routing
		backends []proxy.Backend
		own      map[int]bool
		want     *proxy.Split
	}{
		{"idle, a warm old set beside the live one", routing{pin: 2}, backendsOf(1, 1, 2, 2), nil, &proxy.Split{Release: 2, Weight: 100}},
		{"idle, the live release alone", routing{pin: 2}, backendsOf(2, 2), nil, nil},
		{"rolling half way: mixed", routing{pin: 3, pinAt: 2}, backendsOf(2, 3), nil, nil},
		{"rollback to a set kept warm", routing{pin: 1, pinAt: 2}, backendsOf(1, 1, 2, 2), nil, &proxy.Split{Release: 1, Weight: 100}},
		{"the pin runs in a set of its own", routing{pin: 3}, backendsOf(3, 3), map[int]bool{3: true}, &proxy.Split{Release: 3, Weight: 100}},
		{"nothing pinned", routing{}, backendsOf(1, 2), nil, nil},
		{"the strategy's split wins", routing{split: &proxy.Split{Release: 3, Weight: 25}, pin: 2}, backendsOf(2, 3), nil, &proxy.Split{Release: 3, Weight: 25}},
	} {
		got := c.rt.splitOf(c.backends, c.own)
		if (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("%s: split %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestOnlyAProgressiveDeployPastItsStartSplitsByStep(t *testing.T) {
	canary := func(mod func(r *store.Rollout)) *store.Rollout {
		r := &store.Rollout{Kind: store.KindDeploy, Strategy: "canary", FromRelease: 1, ToRelease: 2, Step: 1, State: store.RolloutShifting}
		mod(r)
		return r
	}
	for _, c := range []struct {
		name string
		r    *store.Rollout
		want bool
	}{
		{"a canary at step 1", canary(func(*store.Rollout) {}), true},
		{"a canary before its first step", canary(func(r *store.Rollout) { r.Step = 0 }), false},
		{"a canary verifying: it runs in full", canary(func(r *store.Rollout) { r.State = store.RolloutVerifying }), false},
		{"a canary rolling back", canary(func(r *store.Rollout) { r.State = store.RolloutRollingBack }), false},
		{"a first deploy", canary(func(r *store.Rollout) { r.FromRelease = 0 }), false},
		{"a rolling deploy", canary(func(r *store.Rollout) { r.Strategy = "rolling" }), false},
		{"a rollback", canary(func(r *store.Rollout) { r.Kind = store.KindRollback }), false},
	} {
		if got := splitsAtStep(c.r); got != c.want {
			t.Errorf("%s: splits by step %v, want %v", c.name, got, c.want)
		}
	}
}
