package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// desired is how many instances an app runs: the count it was scaled to,
// else its spec's.
func desired(app *store.App, rel *store.Release) int {
	if app.Instances > 0 {
		return app.Instances
	}
	if rel == nil {
		return 0
	}
	return rel.Spec.Instances
}

// goalOf loads where rollout r goes: r.Instances of release r.ToRelease.
func (e *Engine) goalOf(ctx context.Context, r *store.Rollout, version, n int) (*goal, error) {
	app, err := e.Store.AppByID(ctx, r.AppID)
	if err != nil {
		return nil, err
	}
	g := &goal{app: app, n: n}
	if version > 0 {
		if g.release, err = e.Store.Release(ctx, app.ID, version); err != nil {
			return nil, err
		}
	}
	if app.LiveRelease > 0 && app.LiveRelease != version {
		if live, err := e.Store.Release(ctx, app.ID, app.LiveRelease); err == nil {
			g.fallback = &live.Spec
		}
	}
	return g, nil
}

// runToTarget moves rollout r, whose target is recorded, to its end: done,
// or rolled back.
func (e *Engine) runToTarget(ctx context.Context, r *store.Rollout) {
	err := e.forward(ctx, r)
	why := e.abortedWhy(r.ID)
	switch {
	case err == nil:
		e.prune(ctx, r.AppID)
		return
	case why != "":
		// Aborted: roll back on the engine's own context, not the
		// cancelled one of this rollout.
		e.rollBack(e.ctx, r, errors.New(why))
	case errors.Is(err, errStopped) || e.stopping(ctx):
		e.event(r, "note", fmt.Sprintf("rollout #%d interrupted: nonstop is stopping; it resumes at the next start", r.ID), nil)
	default:
		e.rollBack(ctx, r, err)
	}
}

// forward converges r to its target and makes it live.
func (e *Engine) forward(ctx context.Context, r *store.Rollout) error {
	if r.State == store.RolloutPending || r.State == store.RolloutBuilding {
		if err := e.transition(r, store.RolloutStarting, ""); err != nil {
			return err
		}
	}
	g, err := e.goalOf(ctx, r, r.ToRelease, r.Instances)
	if err != nil {
		return err
	}
	if firstOfProgressive(r) && r.Step == 0 {
		e.event(r, "note", fmt.Sprintf("first deploy of %s: no live release to compare a canary with or to switch from, so v%d starts all %d instances, each health-gated, and goes live; the %s strategy applies from the next deploy on",
			g.app.Name, g.version(), g.n, r.Strategy), nil)
	}
	if onCluster(g.spec()) {
		return e.clusterForward(ctx, r, g)
	}
	if r.Kind == store.KindStart {
		if err := e.Store.SetAppState(ctx, g.app.ID, store.AppRunning); err != nil {
			return err
		}
		g.app.State = store.AppRunning
		if err := e.pushRoute(ctx, g.app.ID); err != nil {
			return err
		}
	}
	keepWarm := false
	switch {
	case firstOfProgressive(r):
		// No stable side: the plain health-gated start below.
		if err := e.pushRoute(ctx, g.app.ID); err != nil {
			return err
		}
	case r.Kind == store.KindDeploy && strategy.Progressive(strategy.For(r.Strategy)):
		if keepWarm, err = e.progressive(ctx, r, g); err != nil {
			return err
		}
	default:
		if err := e.pushRoute(ctx, g.app.ID); err != nil {
			return err
		}
	}
	if keepWarm {
		// The old set stays, routed no clients, for an instant rollback.
		if err := e.scaleCanary(ctx, r, g, g.n); err != nil {
			return err
		}
	} else {
		if err := e.converge(ctx, r, g); err != nil {
			return err
		}
	}
	if r.State != store.RolloutVerifying {
		if err := e.transition(r, store.RolloutVerifying, ""); err != nil {
			return err
		}
	}
	if err := e.verify(ctx, g); err != nil {
		return err
	}
	if err := e.Store.MakeLive(ctx, g.app.ID, g.version()); err != nil {
		return err
	}
	// A stopped app that was deployed or rolled back is running again: its
	// route leaves the maintenance page.
	if err := e.pushRoute(ctx, g.app.ID); err != nil {
		return err
	}
	if r.Kind == store.KindScale {
		if err := e.Store.SetAppInstances(ctx, g.app.ID, g.n); err != nil {
			return err
		}
	}
	if keepWarm {
		e.retireWarmLater(g.app, g.version(), strategy.For(r.Strategy).KeepOld(g.spec()))
	}
	if r.Kind == store.KindDeploy || r.Kind == store.KindEnv {
		defer e.bake(r, g)
	}
	if r.Kind == store.KindEnv {
		if err := e.Store.SetAppEnv(ctx, g.app.ID, r.Env); err != nil {
			return err
		}
	}
	return e.transition(r, store.RolloutDone, fmt.Sprintf("v%d live with %d instance(s)", g.version(), g.n))
}

// verify checks, from the proxy's own view, that every target instance in
// the route is healthy.
func (e *Engine) verify(ctx context.Context, g *goal) error {
	deadline := e.Now().Add(g.spec().Health.Interval*3 + time.Second)
	for {
		statuses, err := e.Proxy.Status(ctx, g.app.Name)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		sick := ""
		serving := 0
		for _, st := range statuses {
			if st.Release == g.version() {
				serving++
				if !st.Healthy {
					sick = fmt.Sprintf("instance %s is unhealthy in the proxy: %s", st.ID, st.LastErr)
				}
			}
		}
		if serving != g.n {
			sick = fmt.Sprintf("the proxy routes to %d instances of v%d, want %d", serving, g.version(), g.n)
		}
		if sick == "" {
			return nil
		}
		if e.Now().After(deadline) {
			return errors.New("verify: " + sick)
		}
		select {
		case <-ctx.Done():
			return errStopped
		case <-e.Clock.After(100 * time.Millisecond):
		}
	}
}

// rollBack returns the app to where r started: the from release with the
// instance count it had, in the same health-gated way.
func (e *Engine) rollBack(ctx context.Context, r *store.Rollout, cause error) {
	if r.State != store.RolloutRollingBack {
		if err := e.transition(r, store.RolloutRollingBack, cause.Error()); err != nil {
			e.Logger.Error("record rollback", "rollout", r.ID, "err", err)
			return
		}
		if r.ToRelease != r.FromRelease && r.ToRelease > 0 {
			e.logFailed(r, "record failed release", e.Store.SetReleaseStatus(ctx, r.AppID, r.ToRelease, store.ReleaseFailed))
		}
	}
	app, err := e.Store.AppByID(ctx, r.AppID)
	if err != nil {
		e.finishFailed(r, fmt.Errorf("roll back: %w", err))
		return
	}
	var from *store.Release
	if r.FromRelease > 0 {
		if from, err = e.Store.Release(ctx, app.ID, r.FromRelease); err != nil {
			e.finishFailed(r, fmt.Errorf("roll back: %w", err))
			return
		}
	}
	if e.isClusterRollout(ctx, r) {
		if err := e.clusterRollBack(ctx, r, app); err != nil {
			if errors.Is(err, errStopped) {
				return
			}
			e.finishFailed(r, fmt.Errorf("roll back to v%d: %w", r.FromRelease, err))
			return
		}
		e.rolledBack(r)
		return
	}
	n := desired(app, from)
	if app.State == store.AppStopped || from == nil {
		n = 0
	}
	if strategy.Progressive(strategy.For(r.Strategy)) && r.ToRelease != r.FromRelease && r.ToRelease > 0 {
		// Every client back on the stable release (whose instances all
		// still run) in one swap, the canary's instances out of the route,
		// then drained and stopped.
		if err := e.dropRelease(ctx, app.ID, r.ToRelease); err != nil {
			e.finishFailed(r, fmt.Errorf("roll back: %w", err))
			return
		}
	}
	g, err := e.goalOf(ctx, r, r.FromRelease, n)
	if err != nil {
		e.finishFailed(r, fmt.Errorf("roll back: %w", err))
		return
	}
	if err := e.converge(ctx, r, g); err != nil {
		if errors.Is(err, errStopped) {
			return
		}
		e.finishFailed(r, fmt.Errorf("roll back to v%d: %w", r.FromRelease, err))
		return
	}
	e.rolledBack(r)
}

// firstOfProgressive reports whether r is a canary or blue-green deploy of
// an app with no live release: with nothing to compare with or switch
// from, it is run as a health-gated start of every instance.
func firstOfProgressive(r *store.Rollout) bool {
	return r.Kind == store.KindDeploy && r.FromRelease == 0 &&
		strategy.Progressive(strategy.For(r.Strategy))
}

// rolledBack records that r's rollback is over.
func (e *Engine) rolledBack(r *store.Rollout) {
	msg := fmt.Sprintf("back on v%d", r.FromRelease)
	if r.FromRelease == 0 {
		msg = "no release was live before: nothing serves"
	}
	if err := e.transitionNote(r, store.RolloutRolledBack, "", msg); err != nil {
		e.Logger.Error("record rolled back", "rollout", r.ID, "err", err)
	}
}

func (e *Engine) finishFailed(r *store.Rollout, err error) {
	e.record(r, store.RolloutFailed, fmt.Sprintf("%s; then %v", r.Reason, err))
}
