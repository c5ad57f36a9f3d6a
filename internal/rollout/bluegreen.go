package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// bluegreen starts the whole new set beside the live one, reachable only at
// its preview host (vN.APP.SUFFIX), and switches every client to it in one
// swap when promoted: after auto_promote_after, or by `nonstop promote`.
// The old set stays warm (routed no clients) for keep_old_for, so that a
// rollback in that time is one more swap.
func (e *Engine) bluegreen(ctx context.Context, r *store.Rollout, g *goal) error {
	bg := g.spec().Deploy.BlueGreen
	// Step 1 is "the new set starts and waits for its promotion": resumed
	// after a restart, it is done again (each action is idempotent) and
	// waits again. Step 2, the switch, is recorded before it is made.
	if r.Step <= 1 {
		r.Step = 1
		if err := e.transition(r, store.RolloutShifting, ""); err != nil {
			return err
		}
		if err := e.pushRoute(ctx, g.app.ID); err != nil {
			return err
		}
		e.event(r, "step", fmt.Sprintf("blue-green: starting %d instance(s) of v%d beside the live set", g.n, g.version()), nil)
		if err := e.scaleCanary(ctx, r, g, g.n); err != nil {
			return err
		}
		preview := proxy.HostURL(e.ProxyURL, e.previewHost(g.app, g.version()))
		e.event(r, "step", fmt.Sprintf("v%d is ready at its preview %s; it takes traffic when promoted", g.version(), preview),
			map[string]any{"preview": preview})
		if bg.AutoPromoteAfter > 0 {
			e.event(r, "step", fmt.Sprintf("every client switches to v%d in %s (auto_promote_after), or at `nonstop promote %s`", g.version(), bg.AutoPromoteAfter, g.app.Name), nil)
		} else {
			e.event(r, "waiting", fmt.Sprintf("waiting for promote: try v%d at %s — `nonstop promote %s` switches every client to it, `nonstop abort %s` rolls back", g.version(), preview, g.app.Name, g.app.Name), nil)
		}
		if err := e.awaitPromotion(ctx, r, bg.AutoPromoteAfter); err != nil {
			return err
		}
	}
	r.Step = 2
	if err := e.transition(r, store.RolloutShifting, ""); err != nil {
		return err
	}
	if err := e.pushRoute(ctx, g.app.ID); err != nil {
		return err
	}
	e.event(r, "step", fmt.Sprintf("switched: every client on v%d; the old set stays warm for %s", g.version(), bg.KeepOldFor), nil)
	return nil
}

// awaitPromotion waits for `nonstop promote`, or until after when it is > 0.
func (e *Engine) awaitPromotion(ctx context.Context, r *store.Rollout, after time.Duration) error {
	var auto <-chan time.Time
	if after > 0 {
		auto = e.Clock.After(after)
	}
	signals := e.signalsOf(r.ID)
	for {
		select {
		case <-ctx.Done():
			return errStopped
		case <-auto:
			e.event(r, "step", "promoted after "+after.String(), nil)
			return nil
		case sig := <-signals:
			if sig == SignalPromote || sig == SignalPromoteFull {
				e.event(r, "step", "promoted by hand", nil)
				return nil
			}
		}
	}
}

// retireWarmLater retires an app's old set once keepOld has passed, unless
// something else changed the app meanwhile.
func (e *Engine) retireWarmLater(app *store.App, live int, keepOld time.Duration) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case <-e.ctx.Done():
			return
		case <-e.Clock.After(keepOld):
		}
		cur, err := e.Store.AppByID(e.ctx, app.ID)
		if err != nil || cur.LiveRelease != live {
			return
		}
		if err := e.heal(e.ctx, cur); err != nil {
			e.Logger.Warn("retire the old blue-green set", "app", app.Name, "err", err)
		}
	}()
}

// previewHost is where release version of app is served alone.
func (e *Engine) previewHost(app *store.App, version int) string {
	return fmt.Sprintf("v%d.%s.%s", version, app.Name, e.DomainSuffix)
}
