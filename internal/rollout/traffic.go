package rollout

import (
	"context"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// Where an app's clients go is derived, at every route push, from what the
// store holds: the app's rollout in progress, its recorded step and its
// strategy, or else its live release. Nothing of it is kept in memory, so
// a restart resumes a rollout with exactly the traffic it had.

// routing is the traffic part of an app's route, before its members are
// known.
type routing struct {
	split   *proxy.Split // set by the strategy at the rollout's step
	preview int          // the release served alone at its preview host
	// pin, when no strategy splits, is the release every client goes to
	// once it serves pinAt members (0: any) beside members of others: the
	// live release while nothing else is going on (another release's set
	// kept warm gets no client), or a rollout's target already running
	// in full beside the rest (a rollback to a set kept warm: one swap).
	pin, pinAt int
	// sets are the releases whose own pod sets (on Kubernetes) are in the
	// route beside the stable set.
	sets []int
}

// routingOf derives the routing of app from the store.
func (rt *router) routingOf(ctx context.Context, app *store.App) (routing, error) {
	rs, err := rt.store.Rollouts(ctx, app.ID, 1)
	if err != nil {
		return routing{}, err
	}
	var r *store.Rollout
	if len(rs) > 0 && !rs[0].State.Terminal() {
		r = rs[0]
	}
	if r != nil && splitsAtStep(r) {
		rel, err := rt.store.Release(ctx, app.ID, r.ToRelease)
		if err != nil {
			return routing{}, err
		}
		if t, ok := strategy.For(r.Strategy).Traffic(&rel.Spec, r.ToRelease, r.Step); ok {
			out := routing{split: &proxy.Split{Release: t.Release, Weight: t.Weight}, sets: []int{r.ToRelease, r.FromRelease}}
			if t.Preview {
				out.preview = t.Release
			}
			return out, nil
		}
	}
	out := routing{pin: app.LiveRelease}
	switch {
	case r == nil:
	case splitsLater(r):
		// A progressive deploy before its first step (folding a set kept
		// warm first, on Kubernetes): the clients stay on the live one.
		out.pin = r.FromRelease
		out.sets = []int{r.FromRelease, r.ToRelease}
		return out, nil
	case r.State == store.RolloutRollingBack:
		out.pin, out.pinAt = r.FromRelease, 0
		if r.FromRelease > 0 {
			from, err := rt.store.Release(ctx, app.ID, r.FromRelease)
			if err != nil {
				return routing{}, err
			}
			out.pinAt = max(1, fleet.Desired(app, from))
		}
	case r.ToRelease > 0 && r.ToRelease != app.LiveRelease:
		out.pin, out.pinAt = r.ToRelease, max(1, r.Instances)
	}
	out.sets = []int{out.pin}
	return out, nil
}

// splitsAtStep reports whether r is a progressive deploy taking its steps,
// whose strategy decides the split. Verifying, the new release runs in
// full: the pin decides, as it will once the rollout is done.
func splitsAtStep(r *store.Rollout) bool {
	return progressiveForward(r) && r.ToRelease > 0 && r.Step >= 1 && r.State != store.RolloutVerifying
}

// splitsLater reports whether r is a progressive deploy whose steps have
// not begun.
func splitsLater(r *store.Rollout) bool {
	return progressiveForward(r) && r.Step < 1
}

// progressiveForward reports whether r is a canary or blue-green deploy
// from a live release, going forward (not rolling back).
func progressiveForward(r *store.Rollout) bool {
	return r.Kind == store.KindDeploy && r.State != store.RolloutRollingBack && !firstOfProgressive(r) &&
		strategy.Progressive(strategy.For(r.Strategy))
}

// splitOf is the split of a route with these backends: the strategy's, or
// the pin once its release serves enough members beside others, or runs
// in a set of its own (own, on Kubernetes: a blue-green switch keeping the
// old release warm in the stable set, whatever else the Services select).
func (rt routing) splitOf(backends []proxy.Backend, own map[int]bool) *proxy.Split {
	if rt.split != nil || rt.pin == 0 {
		return rt.split
	}
	if own[rt.pin] {
		return &proxy.Split{Release: rt.pin, Weight: 100}
	}
	pinned, others := 0, 0
	for _, b := range backends {
		if b.Release == rt.pin {
			pinned++
		} else {
			others++
		}
	}
	if others == 0 || pinned < max(1, rt.pinAt) {
		return nil
	}
	return &proxy.Split{Release: rt.pin, Weight: 100}
}
