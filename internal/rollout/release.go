package rollout

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// A deploy reaches the engine from the pipeline, which owns builds, in
// three calls: Admit before anything is recorded, Begin to record the
// rollout (in state building while the pipeline makes its release), then
// RollOut with the release, or Fail when none came.

// ErrUnsupported is a request this version of nonstop cannot carry out.
var ErrUnsupported = fleet.ErrUnsupported

// Admit checks that this engine can run sp for app: a fleet here runs it
// and takes it, and the deploy does not move the app off the fleet of its
// live release. Nothing is recorded.
func (e *Engine) Admit(ctx context.Context, app *store.App, sp *spec.Spec) error {
	return e.fleets.admit(ctx, app, sp)
}

// Begin records a deploy of sp to app, from its live release, and moves it
// to building, where it stays until RollOut or Fail. It is store.ErrConflict
// while the app has a rollout in progress: the one place that decides that
// an app has one rollout at a time. The rollout returned is the caller's,
// as created; the engine works on its own copy.
func (e *Engine) Begin(ctx context.Context, app *store.App, sp *spec.Spec, by string) (*store.Rollout, error) {
	r, err := e.Store.CreateRollout(ctx, store.Rollout{
		AppID: app.ID, Kind: store.KindDeploy, FromRelease: app.LiveRelease,
		Strategy: string(sp.Deploy.Strategy), CreatedBy: by,
	})
	if err != nil {
		return nil, err
	}
	caller := *r
	o := e.opOf(r, nil)
	if err := o.transition(store.RolloutBuilding, ""); err != nil {
		o.record(store.RolloutFailed, "record building: "+err.Error())
		return nil, fmt.Errorf("begin rollout #%d: %w", r.ID, err)
	}
	return &caller, nil
}

// RollOut moves rollout r, begun by Begin, to release rel in the
// background: the target (rel, with the app's instance count) is recorded
// with a "release" event, then the rollout runs under its strategy. When
// the target cannot be recorded the rollout fails and the error says why;
// a rollout no longer building (it ended meanwhile) is left as it is and
// the error is store.ErrConflict. r itself is not changed.
func (e *Engine) RollOut(r *store.Rollout, rel *store.Release) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	own, err := e.Store.Rollout(ctx, r.ID)
	if err != nil {
		e.Fail(r, err.Error())
		return err
	}
	if own.State != store.RolloutBuilding {
		return fmt.Errorf("roll out v%d: rollout #%d is %s: %w", rel.Version, r.ID, own.State, store.ErrConflict)
	}
	app, err := e.Store.AppByID(ctx, own.AppID)
	if err == nil {
		own.ToRelease, own.Instances = rel.Version, fleet.Desired(app, rel)
		err = e.Store.SetRolloutTarget(ctx, own.ID, own.ToRelease, own.Instances)
	}
	if err != nil {
		e.opOf(own, nil).record(store.RolloutFailed, err.Error())
		return err
	}
	msg, data := fmt.Sprintf("release v%d created from build #%d", rel.Version, rel.Build), map[string]any{"version": rel.Version}
	if rel.Build == 0 {
		msg, data = fmt.Sprintf("release v%d runs %s", rel.Version, rel.Image), map[string]any{"version": rel.Version, "image": rel.Image}
	}
	e.opOf(own, nil).Event("release", msg, data)
	e.run(own, (*op).toTarget)
	return nil
}

// Fail ends rollout r, begun by Begin, that never got a release (its build
// failed or was cancelled): nothing changed, reason says why. r itself is
// not changed.
func (e *Engine) Fail(r *store.Rollout, reason string) {
	own := *r
	e.opOf(&own, nil).record(store.RolloutFailed, reason)
	e.mu.Lock()
	delete(e.signals, r.ID) // a signal sent while it built waited for it
	e.mu.Unlock()
}

// ReleaseEnv is the env a release of sp runs with: the spec's, overridden
// by the app's own (`nonstop env set`).
func ReleaseEnv(sp *spec.Spec, appEnv map[string]string) map[string]string {
	env := map[string]string{}
	maps.Copy(env, sp.Env)
	maps.Copy(env, appEnv)
	return env
}
