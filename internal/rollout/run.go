package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// goalOf loads where rollout r goes: n instances of release version.
func (e *Engine) goalOf(ctx context.Context, r *store.Rollout, version, n int) (*fleet.Goal, error) {
	app, err := e.Store.AppByID(ctx, r.AppID)
	if err != nil {
		return nil, err
	}
	g := &fleet.Goal{App: app, N: n}
	if version > 0 {
		if g.Release, err = e.Store.Release(ctx, app.ID, version); err != nil {
			return nil, err
		}
	}
	if app.LiveRelease > 0 && app.LiveRelease != version {
		if live, err := e.Store.Release(ctx, app.ID, app.LiveRelease); err == nil {
			g.Fallback = &live.Spec
		}
	}
	return g, nil
}

// runToTarget moves rollout r, whose target is recorded, to its end: done,
// or rolled back.
func (o *op) toTarget(ctx context.Context) {
	e, r := o.e, o.r
	err := o.forward(ctx)
	why := e.abortedWhy(r.ID)
	switch {
	case err == nil:
		e.prune(ctx, r.AppID)
		return
	case why != "":
		// Aborted: roll back on the engine's own context, not the
		// cancelled one of this rollout.
		o.rollBack(e.ctx, errors.New(why))
	case errors.Is(err, errStopped) || e.stopping(ctx):
		o.Event("note", fmt.Sprintf("rollout #%d interrupted: nonstop is stopping; it resumes at the next start", r.ID), nil)
	default:
		// On the engine's context too: an abort cannot cut a rollback
		// short (nonstop stopping can; it resumes at the next start).
		o.rollBack(e.ctx, err)
	}
}

// forward converges r to its target on the app's fleet and makes it live:
// the strategy's steps for a progressive deploy, else the rolling way.
func (o *op) forward(ctx context.Context) error {
	e, r := o.e, o.r
	if r.State == store.RolloutPending || r.State == store.RolloutBuilding {
		if err := o.transition(store.RolloutStarting, ""); err != nil {
			return err
		}
	}
	g, err := e.goalOf(ctx, r, r.ToRelease, r.Instances)
	if err != nil {
		return err
	}
	f, err := e.fleets.ofGoal(g)
	if err != nil {
		return err
	}
	if firstOfProgressive(r) && r.Step == 0 {
		o.Event("note", fmt.Sprintf("first deploy of %s: no live release to compare a canary with or to switch from, so v%d starts all %d instances, each health-gated, and goes live; the %s strategy applies from the next deploy on",
			g.App.Name, g.Version(), g.N, r.Strategy), nil)
	}
	if r.Kind == store.KindStart {
		if err := e.Store.SetAppState(ctx, g.App.ID, store.AppRunning); err != nil {
			return err
		}
		g.App.State = store.AppRunning
	}
	s := strategy.For(r.Strategy)
	progressive := progressiveForward(r)
	// The old set stays warm, routed no clients, for an instant rollback.
	keepOld := progressive && s.KeepOld(g.Spec()) > 0
	o.g = g
	letThrough := func() {}
	if o.releasePhaseDue(g) {
		if letThrough, err = o.releasePhase(ctx, f, g); err != nil {
			return err
		}
		if progressive { // its old set serves on while the new one is judged
			letThrough()
			letThrough = func() {}
		}
	}
	// A rollout resumed in verifying has done its steps: what is left is
	// the check and the record.
	if r.State != store.RolloutVerifying {
		// The route as the rollout starts (a started app leaves its
		// maintenance page).
		if err := e.routes.push(ctx, g.App.ID); err != nil {
			return err
		}
		if progressive {
			err = o.progressive(ctx, f, keepOld)
		} else {
			err = f.Converge(ctx, o, g)
		}
		letThrough() // the new release alone serves (or the rollout failed)
		if err != nil {
			return err
		}
		if err := o.transition(store.RolloutVerifying, ""); err != nil {
			return err
		}
	}
	what, err := f.Complete(ctx, o, g, keepOld)
	if err != nil {
		return err
	}
	if err := e.Store.MakeLive(ctx, g.App.ID, g.Version()); err != nil {
		return err
	}
	// A stopped app that was deployed or rolled back is running again: its
	// route leaves the maintenance page.
	if err := e.routes.push(ctx, g.App.ID); err != nil {
		return err
	}
	if keepOld {
		e.retireWarmLater(g.App, g.Version(), s.KeepOld(g.Spec()))
	}
	if (r.Kind == store.KindDeploy || r.Kind == store.KindEnv) && f.Measures(g.Spec(), false) {
		// The proxy carries the traffic: it measures the bake.
		defer o.bake()
	}
	switch r.Kind {
	case store.KindScale:
		if err := e.Store.SetAppInstances(ctx, g.App.ID, g.N); err != nil {
			return err
		}
	case store.KindEnv:
		if err := e.Store.SetAppEnv(ctx, g.App.ID, r.Env); err != nil {
			return err
		}
	}
	return o.transition(store.RolloutDone, fmt.Sprintf("v%d live with %s", g.Version(), what))
}

// rollBack returns the app to where r started: the from release with the
// instance count it had, in the same health-gated way.
func (o *op) rollBack(ctx context.Context, cause error) {
	e, r := o.e, o.r
	if r.State != store.RolloutRollingBack {
		if err := o.transition(store.RolloutRollingBack, cause.Error()); err != nil {
			o.unrecorded(store.RolloutRollingBack, cause.Error(), err)
			return
		}
		if r.ToRelease != r.FromRelease && r.ToRelease > 0 {
			o.logFailed("record failed release", e.Store.SetReleaseStatus(ctx, r.AppID, r.ToRelease, store.ReleaseFailed))
		}
	}
	err := func() error {
		from, err := e.goalOf(ctx, r, r.FromRelease, 0)
		if err != nil {
			return err
		}
		if from.Release != nil && from.App.State != store.AppStopped {
			from.N = fleet.Desired(from.App, from.Release)
		}
		var failed *fleet.Goal
		if r.ToRelease > 0 {
			if failed, err = e.goalOf(ctx, r, r.ToRelease, 0); err != nil {
				return err
			}
		}
		// A canary's or a blue-green's clients all go back to the stable
		// release (whose instances all still run) in one swap.
		progressive := strategy.Progressive(strategy.For(r.Strategy)) && r.ToRelease != r.FromRelease && r.ToRelease > 0
		// The fleet of the release that was rolled out (the same as the
		// from release's: a deploy cannot move an app between fleets).
		where := from
		if failed != nil {
			where = failed
		}
		f, err := e.fleets.ofGoal(where)
		if err != nil {
			return err
		}
		return f.RollBack(ctx, o.with(from), from, failed, progressive)
	}()
	switch {
	case errors.Is(err, errStopped):
	case err != nil:
		o.finishFailed(fmt.Errorf("roll back to v%d: %w", r.FromRelease, err))
	default:
		o.rolledBack()
	}
}

// firstOfProgressive reports whether r is a canary or blue-green deploy of
// an app with no live release: with nothing to compare with or switch
// from, it is run as a health-gated start of every instance.
func firstOfProgressive(r *store.Rollout) bool {
	return r.Kind == store.KindDeploy && r.FromRelease == 0 &&
		strategy.Progressive(strategy.For(r.Strategy))
}

// rolledBack records that r's rollback is over.
func (o *op) rolledBack() {
	r := o.r
	msg := fmt.Sprintf("back on v%d", r.FromRelease)
	if r.FromRelease == 0 {
		msg = "no release was live before: nothing serves"
	}
	if err := o.transitionNote(store.RolloutRolledBack, "", msg); err != nil {
		o.unrecorded(store.RolloutRolledBack, msg, err)
	}
}

func (o *op) finishFailed(err error) {
	r := o.r
	o.record(store.RolloutFailed, fmt.Sprintf("%s; then %v", r.Reason, err))
}
