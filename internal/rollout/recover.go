package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Recover brings every app back to what the store says after nonstop
// (re)starts: its fleets adopt the instances that outlived the last run
// (and stop those nobody counts), it pushes
// every route to the proxy, resumes or rolls back interrupted rollouts, and
// restarts the live release of apps that lost instances. Rollouts it resumes
// run in the background.
func (e *Engine) Recover(ctx context.Context) error {
	defer e.recoverOnce.Do(func() { close(e.recovered) })
	apps, err := e.Store.Apps(ctx)
	if err != nil {
		return err
	}
	for _, f := range e.Fleets {
		if err := f.Recover(ctx, apps); err != nil {
			return err
		}
	}
	unfinished, err := e.Store.UnfinishedRollouts(ctx)
	if err != nil {
		return err
	}
	if err := e.routes.sync(ctx, apps); err != nil {
		return err
	}
	busy := map[int64]bool{}
	for _, r := range unfinished {
		busy[r.AppID] = true
		e.resume(r)
	}
	for _, app := range apps {
		if !busy[app.ID] && app.State == store.AppRunning && app.LiveRelease > 0 {
			if err := e.heal(ctx, app); err != nil {
				return err
			}
		}
	}
	return nil
}

// resume continues an interrupted rollout from its recorded state.
func (e *Engine) resume(r *store.Rollout) {
	o := e.opOf(r, nil)
	o.Event("note", fmt.Sprintf("rollout #%d resumed after a restart of nonstop, from %s", r.ID, r.State), nil)
	switch {
	case r.State == store.RolloutRollingBack:
		e.run(r, func(o *op, _ context.Context) { o.rollBack(e.ctx, errors.New(r.Reason)) })
	case r.Kind == store.KindStop:
		e.run(r, (*op).stop)
	case r.ToRelease == 0 || r.State == store.RolloutBuilding || (r.Kind == store.KindDeploy && r.State == store.RolloutPending):
		// Interrupted before its release existed: nothing changed yet.
		o.record(store.RolloutFailed, "interrupted by a restart of nonstop before its release was built; deploy again")
	default:
		e.run(r, (*op).toTarget)
	}
}

// heal rolls a running app's live release out again when what runs on
// its fleet differs from it: instances lost while nonstop was down, a
// Deployment changed behind its back.
func (e *Engine) heal(ctx context.Context, app *store.App) error {
	rel, err := e.Store.Release(ctx, app.ID, app.LiveRelease)
	if err != nil {
		return err
	}
	f, err := e.fleets.forSpec(&rel.Spec)
	if err != nil {
		e.Logger.Warn("no fleet here runs the live release: left as it is", "app", app.Name, "err", err)
		return nil
	}
	drifted, err := f.Drifted(ctx, app, rel, fleet.Desired(app, rel))
	if err != nil || !drifted {
		return err
	}
	_, err = e.launch(ctx, store.Rollout{AppID: app.ID, Kind: store.KindRecover, FromRelease: app.LiveRelease, ToRelease: app.LiveRelease,
		Instances: fleet.Desired(app, rel), CreatedBy: "nonstop"}, rel)
	return err
}

// SyncRoutes gives the proxy every app's route again (after the proxy restarted).
func (e *Engine) SyncRoutes(ctx context.Context) error {
	apps, err := e.Store.Apps(ctx)
	if err != nil {
		return err
	}
	return e.routes.sync(ctx, apps)
}
