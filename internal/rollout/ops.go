package rollout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Rollback rolls the app back to release toVersion, or, when toVersion is 0,
// to the release that was live before the current one.
func (e *Engine) Rollback(ctx context.Context, app *store.App, toVersion int, by string) (*store.Rollout, error) {
	if app.LiveRelease == 0 {
		return nil, fmt.Errorf("app %s has no live release to roll back from: %w", app.Name, ErrInvalid)
	}
	if toVersion == 0 {
		last, err := e.Store.LastDoneRollout(ctx, app.ID)
		if err != nil || last.FromRelease == 0 {
			return nil, fmt.Errorf("app %s has no release before v%d: %w", app.Name, app.LiveRelease, ErrInvalid)
		}
		toVersion = last.FromRelease
	}
	if toVersion == app.LiveRelease {
		return nil, fmt.Errorf("v%d is already live: %w", toVersion, ErrInvalid)
	}
	rel, err := e.Store.Release(ctx, app.ID, toVersion)
	if err != nil {
		return nil, err
	}
	if rel.Status == store.ReleaseFailed {
		return nil, fmt.Errorf("v%d failed its rollout; pick a release that served: %w", toVersion, ErrInvalid)
	}
	if _, err := os.Stat(rel.Dir); rel.Image == "" && err != nil {
		return nil, fmt.Errorf("v%d is no longer kept (%v): %w", toVersion, err, ErrInvalid)
	}
	return e.launch(ctx, store.Rollout{AppID: app.ID, Kind: store.KindRollback, FromRelease: app.LiveRelease, ToRelease: toVersion, Instances: fleet.Desired(app, rel), CreatedBy: by}, rel)
}

// Scale sets how many instances the app runs.
func (e *Engine) Scale(ctx context.Context, app *store.App, n int, by string) (*store.Rollout, error) {
	if n < 1 || n > 100 {
		return nil, fmt.Errorf("instances must be between 1 and 100, got %d: %w", n, ErrInvalid)
	}
	if app.LiveRelease == 0 || app.State == store.AppStopped {
		// Nothing runs: the count applies at the next deploy or start.
		return nil, e.Store.SetAppInstances(ctx, app.ID, n)
	}
	rel, err := e.Store.Release(ctx, app.ID, app.LiveRelease)
	if err != nil {
		return nil, err
	}
	return e.launch(ctx, store.Rollout{AppID: app.ID, Kind: store.KindScale, FromRelease: app.LiveRelease, ToRelease: app.LiveRelease, Instances: n, CreatedBy: by}, rel)
}

// Start brings a stopped app's live release back.
func (e *Engine) Start(ctx context.Context, app *store.App, by string) (*store.Rollout, error) {
	if app.LiveRelease == 0 {
		return nil, fmt.Errorf("app %s has never been deployed: %w", app.Name, ErrInvalid)
	}
	rel, err := e.Store.Release(ctx, app.ID, app.LiveRelease)
	if err != nil {
		return nil, err
	}
	return e.launch(ctx, store.Rollout{AppID: app.ID, Kind: store.KindStart, FromRelease: app.LiveRelease, ToRelease: app.LiveRelease, Instances: fleet.Desired(app, rel), CreatedBy: by}, rel)
}

// SetEnv changes the app's environment. When the app has a live release it
// rolls out a new release of the same build with it, and the new env becomes
// the app's only once that release is live: a refused or rolled back change
// leaves the env as it was.
func (e *Engine) SetEnv(ctx context.Context, app *store.App, set map[string]string, unset []string, by string) (*store.Rollout, error) {
	env := maps.Clone(app.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, set)
	for _, k := range unset {
		delete(env, k)
	}
	if app.LiveRelease == 0 {
		return nil, e.Store.SetAppEnv(ctx, app.ID, env)
	}
	live, err := e.Store.Release(ctx, app.ID, app.LiveRelease)
	if err != nil {
		return nil, err
	}
	if err := e.fleets.admit(ctx, app, &live.Spec); err != nil {
		return nil, err
	}
	r, err := e.Store.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindEnv, FromRelease: app.LiveRelease,
		Strategy: string(live.Spec.Deploy.Strategy), CreatedBy: by, Env: env})
	if err != nil {
		return nil, err
	}
	// The spec's own env stays the base; the app's overrides go on top.
	// The same build and image as the live release: only the env changes.
	rel, err := e.Store.CreateImageRelease(ctx, app.ID, live.Build, live.Dir, live.Image, live.Spec, ReleaseEnv(&live.Spec, env), fmt.Sprintf("env change of v%d", live.Version))
	if err == nil {
		r.ToRelease, r.Instances = rel.Version, fleet.Desired(app, rel)
		err = e.Store.SetRolloutTarget(ctx, r.ID, r.ToRelease, r.Instances)
	}
	if err != nil {
		e.opOf(r, nil).record(store.RolloutFailed, err.Error())
		return nil, err
	}
	return e.run(r, (*op).toTarget), nil
}

// launch records a rollout whose target is known and runs it.
func (e *Engine) launch(ctx context.Context, want store.Rollout, rel *store.Release) (*store.Rollout, error) {
	app, err := e.Store.AppByID(ctx, want.AppID)
	if err != nil {
		return nil, err
	}
	if err := e.fleets.admit(ctx, app, &rel.Spec); err != nil {
		return nil, err
	}
	want.Strategy = string(rel.Spec.Deploy.Strategy)
	r, err := e.Store.CreateRollout(ctx, want)
	if err != nil {
		return nil, err
	}
	return e.run(r, (*op).toTarget), nil
}

// run starts fn on r's op, which owns r from now on, and returns a copy of
// r for the caller.
func (e *Engine) run(r *store.Rollout, fn func(o *op, ctx context.Context)) *store.Rollout {
	caller := *r
	o := e.opOf(r, nil)
	e.start(r.ID, func(ctx context.Context) { fn(o, ctx) })
	return &caller
}

// Stop takes the app's instances down and serves its maintenance page.
func (e *Engine) Stop(ctx context.Context, app *store.App, by string) (*store.Rollout, error) {
	if app.State == store.AppStopped {
		return nil, fmt.Errorf("app %s is already stopped: %w", app.Name, ErrInvalid)
	}
	r, err := e.Store.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindStop, FromRelease: app.LiveRelease, CreatedBy: by, Strategy: "stop"})
	if err != nil {
		return nil, err
	}
	return e.run(r, (*op).stop), nil
}

func (o *op) stop(ctx context.Context) {
	e, r := o.e, o.r
	err := func() error {
		if r.State == store.RolloutPending {
			if err := o.transition(store.RolloutStarting, ""); err != nil {
				return err
			}
		}
		if err := e.Store.SetAppState(ctx, r.AppID, store.AppStopped); err != nil {
			return err
		}
		if err := e.routes.push(ctx, r.AppID); err != nil {
			return err
		}
		app, err := e.Store.AppByID(ctx, r.AppID)
		if err != nil {
			return err
		}
		g, err := e.goalOf(ctx, r, app.LiveRelease, 0)
		if err != nil {
			return err
		}
		f, err := e.fleets.ofGoal(g)
		if err != nil {
			return err
		}
		what, err := f.Stop(ctx, o.with(g), g)
		if err != nil {
			return err
		}
		if r.State != store.RolloutVerifying {
			if err := o.transition(store.RolloutVerifying, ""); err != nil {
				return err
			}
		}
		return o.transition(store.RolloutDone, what)
	}()
	if err != nil && !errors.Is(err, errStopped) {
		o.record(store.RolloutRollingBack, o.why(err))
		o.record(store.RolloutFailed, "")
	}
}

// Delete takes the app's route away, then has its fleets stop every
// instance (draining each) and remove its objects, and forgets it:
// records, builds and release folders.
func (e *Engine) Delete(ctx context.Context, app *store.App) error {
	if last, err := e.Store.Rollouts(ctx, app.ID, 1); err != nil {
		return err
	} else if len(last) > 0 && !last[0].State.Terminal() {
		return fmt.Errorf("rollout #%d of %s is in progress; wait for it to end: %w", last[0].ID, app.Name, store.ErrConflict)
	}
	if err := e.routes.remove(ctx, app); err != nil {
		return err
	}
	for _, f := range e.Fleets {
		if err := f.Delete(ctx, app); err != nil {
			// Not deleted: what still runs is served again.
			if perr := e.routes.push(context.WithoutCancel(ctx), app.ID); perr != nil {
				e.Logger.Error("route an app whose delete failed", "app", app.Name, "err", perr)
			}
			return err
		}
	}
	if err := e.Store.DeleteApp(ctx, app.Name); err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(e.DataDir, "git", app.Name+".git")) // what git push sent
	return os.RemoveAll(filepath.Join(e.DataDir, "apps", app.Name))
}
