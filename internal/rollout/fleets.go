package rollout

import (
	"context"
	"fmt"
	"io"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// ErrInvalid is a request that cannot be carried out as asked.
var ErrInvalid = fleet.ErrInvalid

// fleetFor is the fleet that runs apps of sp.
func (e *Engine) fleetFor(sp *spec.Spec) (fleet.Fleet, error) {
	for _, f := range e.Fleets {
		if f.Runs(sp) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("runtime %q: %w", sp.Runtime, ErrUnsupported)
}

// fleetOf is the fleet an app runs on: the one of its newest release (a
// deploy cannot move an app to another fleet, so all its releases run on
// one), or Fleets[0] while it has none.
func (e *Engine) fleetOf(ctx context.Context, app *store.App) fleet.Fleet {
	if rel, err := e.Store.NewestRelease(ctx, app.ID); err == nil {
		if f, err := e.fleetFor(&rel.Spec); err == nil {
			return f
		}
	}
	return e.Fleets[0]
}

// admit says why release spec sp cannot roll out for app here, before
// anything is recorded: no fleet runs it, its fleet refuses it, or it
// would move the app off the fleet of its live release (whose instances
// would then keep running where no rollout looks: such a move is a new
// app).
func (e *Engine) admit(ctx context.Context, app *store.App, sp *spec.Spec) error {
	f, err := e.fleetFor(sp)
	if err != nil {
		return err
	}
	var live *spec.Spec
	if app.LiveRelease > 0 {
		rel, err := e.Store.Release(ctx, app.ID, app.LiveRelease)
		if err != nil {
			return err
		}
		live = &rel.Spec
		if was, err := e.fleetFor(live); err == nil && was != f {
			return fmt.Errorf("runtime %s → %s: an app cannot move onto or off Kubernetes (to another fleet) by a deploy (v%d would keep running where no rollout looks): create a new app for it: %w",
				live.Runtime, sp.Runtime, rel.Version, ErrInvalid)
		}
	}
	return f.Check(app, live, sp)
}

// Members are the app's instances (on Kubernetes, its pods) as users see
// them: what the store, the runtime and the proxy know of each.
func (e *Engine) Members(ctx context.Context, app *store.App, activeOnly bool) ([]fleet.Member, error) {
	return e.fleetOf(ctx, app).Members(ctx, app, activeOnly)
}

// Logs streams the output of one of the app's instances (or pods).
func (e *Engine) Logs(ctx context.Context, app *store.App, member string, tail int, follow bool) (io.ReadCloser, error) {
	return e.fleetOf(ctx, app).Logs(ctx, app, member, tail, follow)
}

// URLs are where an app is reached when nonstop's proxy does not carry
// its traffic; ok is false for an app the proxy serves.
func (e *Engine) URLs(ctx context.Context, app *store.App) (urls []string, ok bool, err error) {
	return e.fleetOf(ctx, app).URLs(ctx, app)
}
