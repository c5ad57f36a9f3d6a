package kube

import (
	"context"
	"fmt"
	"slices"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/store"
)

// The steps of canary and blue-green rollouts on Kubernetes, and the fold
// that ends them.

// Prepare folds a live release that still runs in a set of its own (a
// blue-green switch that kept the release before it warm) into the stable
// Deployment, before the first step: meanwhile every client stays on the
// live release.
func (f *Fleet) Prepare(ctx context.Context, op fleet.Op, g *fleet.Goal) error {
	return f.foldWarm(ctx, op, g.App)
}

// Place sizes g's release's own set for a step, then sends it weight
// percent of the traffic on every path (shift).
func (f *Fleet) Place(ctx context.Context, op fleet.Op, g *fleet.Goal, members, weight int) (string, error) {
	if err := f.startSet(ctx, op, g, members); err != nil {
		return "", err
	}
	return "its preview service " + kubernetes.SetName(g.App.Name, g.Version()), f.shift(ctx, op, g.App, g.Spec(), g.Version(), weight)
}

// Switch moves every client to the release's own set, at full size. With
// keepOld the stable Deployment stays on the old release, warm and out of
// traffic (the fold comes later); else the fold follows at once: the
// stable Deployment is rolled to the release (out of traffic) and the
// traffic goes back to it (the release's set is deleted by Complete).
func (f *Fleet) Switch(ctx context.Context, op fleet.Op, g *fleet.Goal, keepOld bool) error {
	if err := f.startSet(ctx, op, g, g.N); err != nil {
		return err
	}
	if err := f.shift(ctx, op, g.App, g.Spec(), g.Version(), 100); err != nil {
		return err
	}
	op.Event("step", fmt.Sprintf("switched: every client on %s", kubernetes.SetName(g.App.Name, g.Version())), nil)
	if keepOld {
		return nil
	}
	if err := f.roll(ctx, op, g, g.N); err != nil {
		return err
	}
	return f.shift(ctx, op, g.App, g.Spec(), 0, 0)
}

// foldWarm folds the rollout's from release, when it still runs in a set
// of its own, into the stable Deployment.
func (f *Fleet) foldWarm(ctx context.Context, op fleet.Op, app *store.App) error {
	from := op.Rollout().FromRelease
	if from == 0 {
		return nil
	}
	rel, err := f.Store.Release(ctx, app.ID, from)
	if err != nil {
		return err
	}
	live := &fleet.Goal{App: app, Release: rel, N: fleet.Desired(app, rel)}
	sets, err := f.Cluster.Sets(ctx, app.Name, live.Spec())
	if err != nil || !slices.Contains(sets, from) {
		return err
	}
	op.Event("step", fmt.Sprintf("v%d runs in a set of its own (its blue-green switch kept the release before warm): folding it into the stable deployment first", from), nil)
	if err := f.roll(ctx, op, live, live.N); err != nil {
		return err
	}
	if err := f.shift(ctx, op, app, live.Spec(), 0, 0); err != nil {
		return err
	}
	return f.Cluster.DeleteSet(ctx, app.Name, live.Spec(), from)
}
