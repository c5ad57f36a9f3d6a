package local

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Converge acts, one planned step at a time, until the goal holds. Each
// step is recorded (op.Step) before it is taken; before each, the engine
// may judge what the last batch served (op.Between).
func (f *Fleet) Converge(ctx context.Context, op fleet.Op, g *fleet.Goal) error {
	sp := g.Spec()
	started := false
	for {
		if ctx.Err() != nil {
			return fleet.Cut(ctx, op)
		}
		active, err := f.Store.ActiveInstances(ctx, g.App.ID)
		if err != nil {
			return err
		}
		step := planRolling(g.Version(), g.N, sp.Deploy.MaxSurge, sp.Deploy.MaxUnavailable, active)
		if err := op.Between(ctx, started); err != nil {
			return err
		}
		started = false
		if step.Action == ActDone {
			return nil
		}
		if err := op.Step(ctx); err != nil {
			return err
		}
		k := op.Rollout().Step
		switch step.Action {
		case ActStart:
			op.Event("step", fmt.Sprintf("step %d: start %d instance(s) of v%d", k, step.Count, g.Version()), nil)
			err = f.startMany(ctx, op, g, step.Count)
			started = err == nil
		case ActRetire:
			op.Event("step", fmt.Sprintf("step %d: retire instance %s (v%d)", k, step.Instance.ID, step.Instance.Release), nil)
			err = f.retireInstance(ctx, op, g, step.Instance)
		}
		if err != nil {
			if op.Stopping(ctx) {
				return fleet.ErrStopped
			}
			return err
		}
		f.progress(ctx, op, g)
	}
}

// startMany starts k instances at once and returns the first failure, after
// all have settled.
func (f *Fleet) startMany(ctx context.Context, op fleet.Op, g *fleet.Goal, k int) error {
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.startInstance(ctx, op, g)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if errors.Is(err, fleet.ErrStopped) {
			return fleet.ErrStopped
		}
	}
	return errors.Join(errs...)
}

// progress records how far the goal is, for progress bars.
func (f *Fleet) progress(ctx context.Context, op fleet.Op, g *fleet.Goal) {
	active, err := f.Store.ActiveInstances(ctx, g.App.ID)
	if err != nil {
		return
	}
	ready, other := 0, 0
	for _, in := range active {
		if in.State == store.InstanceServing && in.Release == g.Version() {
			ready++
		} else {
			other++
		}
	}
	op.Event("progress", fmt.Sprintf("v%d: %d/%d instances serving, %d other", g.Version(), ready, g.N, other),
		map[string]any{"ready": ready, "total": g.N, "other": other, "version": g.Version()})
}

// scale starts instances of g's release until want serve.
func (f *Fleet) scale(ctx context.Context, op fleet.Op, g *fleet.Goal, want int) error {
	active, err := f.Store.ActiveInstances(ctx, g.App.ID)
	if err != nil {
		return err
	}
	have := 0
	for _, in := range active {
		if in.Release == g.Version() && in.State == store.InstanceServing {
			have++
		}
	}
	if have >= want {
		return nil
	}
	return f.startMany(ctx, op, g, want-have)
}

// Place starts instances of g's release beside the live ones until members
// serve, then routes the step's traffic (the route follows the rollout's
// recorded step).
func (f *Fleet) Place(ctx context.Context, op fleet.Op, g *fleet.Goal, members, _ int) (string, error) {
	if err := f.scale(ctx, op, g, members); err != nil {
		return "", err
	}
	return "", op.Route(ctx)
}

// Switch routes every client to g's release (its step is recorded), then
// replaces the old instances the rolling way, or keeps them warm, out of
// the route's split, with keepOld.
func (f *Fleet) Switch(ctx context.Context, op fleet.Op, g *fleet.Goal, keepOld bool) error {
	if err := op.Route(ctx); err != nil {
		return err
	}
	if keepOld {
		return f.scale(ctx, op, g, g.N)
	}
	return f.Converge(ctx, op, g)
}

// Replace starts one instance of g's release, then retires instance id.
func (f *Fleet) Replace(ctx context.Context, op fleet.Op, g *fleet.Goal, id string) error {
	if err := f.startMany(ctx, op, g, 1); err != nil {
		return err
	}
	active, err := f.Store.ActiveInstances(ctx, g.App.ID)
	if err != nil {
		return err
	}
	for _, in := range active {
		if in.ID == id {
			return f.retireInstance(ctx, op, g, in)
		}
	}
	return nil
}

// RollBack puts every client back on the stable release in one swap when
// the failed release ran a progressive set (its instances out of the
// route, then drained and stopped), and converges to from.
func (f *Fleet) RollBack(ctx context.Context, op fleet.Op, from, failed *fleet.Goal, progressive bool) error {
	if progressive && failed != nil {
		if err := f.dropRelease(ctx, op, failed); err != nil {
			return err
		}
	}
	return f.Converge(ctx, op, from)
}

// dropRelease takes every instance of a release out of the route in one
// swap (and the split with them); the instances then drain.
func (f *Fleet) dropRelease(ctx context.Context, op fleet.Op, g *fleet.Goal) error {
	active, err := f.Store.ActiveInstances(ctx, g.App.ID)
	if err != nil {
		return err
	}
	for _, in := range active {
		if in.Release == g.Version() && in.State == store.InstanceServing {
			if err := f.Store.SetInstanceState(ctx, in.ID, store.InstanceDraining, ""); err != nil {
				return err
			}
		}
	}
	return op.Route(ctx)
}

// Stop converges to no instance; the route serves the maintenance page.
func (f *Fleet) Stop(ctx context.Context, op fleet.Op, g *fleet.Goal) (string, error) {
	if err := f.Converge(ctx, op, &fleet.Goal{App: g.App, Fallback: g.Spec()}); err != nil {
		return "", err
	}
	return "stopped; the maintenance page is served", nil
}

// Drifted reports whether the live release runs fewer or other instances
// than n.
func (f *Fleet) Drifted(ctx context.Context, app *store.App, live *store.Release, n int) (bool, error) {
	active, err := f.Store.ActiveInstances(ctx, app.ID)
	if err != nil {
		return false, err
	}
	return planRolling(live.Version, n, 1, 0, active).Action != ActDone, nil
}
