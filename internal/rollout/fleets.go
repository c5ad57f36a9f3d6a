package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// ErrInvalid is a request that cannot be carried out as asked.
var ErrInvalid = fleet.ErrInvalid

// fleets are the places apps run, each app on the one that runs its
// releases' spec.
type fleets struct {
	store *store.Store
	list  []fleet.Fleet
}

// forSpec is the fleet that runs apps of sp.
func (fs fleets) forSpec(sp *spec.Spec) (fleet.Fleet, error) {
	for _, f := range fs.list {
		if f.Runs(sp) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("runtime %q: %w", sp.Runtime, ErrUnsupported)
}

// of is the fleet an app runs on: the one of its newest release (a deploy
// cannot move an app to another fleet, so all its releases run on one),
// or the first fleet while it has none.
func (fs fleets) of(ctx context.Context, app *store.App) (fleet.Fleet, error) {
	rel, err := fs.store.NewestRelease(ctx, app.ID)
	if errors.Is(err, store.ErrNotFound) {
		return fs.list[0], nil
	}
	if err != nil {
		return nil, fmt.Errorf("the fleet of %s: %w", app.Name, err)
	}
	return fs.forSpec(&rel.Spec)
}

// ofGoal is the fleet that runs g's release (its fallback's without one,
// else the first fleet: nothing of g runs anywhere).
func (fs fleets) ofGoal(g *fleet.Goal) (fleet.Fleet, error) {
	switch {
	case g.Release != nil:
		return fs.forSpec(&g.Release.Spec)
	case g.Fallback != nil:
		return fs.forSpec(g.Fallback)
	}
	return fs.list[0], nil
}

// admit says why release spec sp cannot roll out for app here, before
// anything is recorded: no fleet runs it, its fleet refuses it, or it
// would move the app off the fleet of its live release (whose instances
// would then keep running where no rollout looks: such a move is a new
// app).
func (fs fleets) admit(ctx context.Context, app *store.App, sp *spec.Spec) error {
	f, err := fs.forSpec(sp)
	if err != nil {
		return err
	}
	var live *spec.Spec
	if app.LiveRelease > 0 {
		rel, err := fs.store.Release(ctx, app.ID, app.LiveRelease)
		if err != nil {
			return err
		}
		live = &rel.Spec
		if was, err := fs.forSpec(live); err == nil && was != f {
			return fmt.Errorf("runtime %s → %s: an app cannot move onto or off Kubernetes (to another fleet) by a deploy (v%d would keep running where no rollout looks): create a new app for it: %w",
				live.Runtime, sp.Runtime, rel.Version, ErrInvalid)
		}
	}
	return f.Check(app, live, sp)
}

// FleetOf is the fleet app runs on: what users see of its instances (or
// pods), their output, and where its clients reach it.
func (e *Engine) FleetOf(ctx context.Context, app *store.App) (fleet.Fleet, error) {
	return e.fleets.of(ctx, app)
}
