package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// progressive runs a canary or blue-green rollout's steps on the app's
// fleet: for each, enough members of the new release's set (health-gated)
// beside the live ones, and the traffic of the step; a canary step is
// judged through its pause (by the proxy's measurements where it carries
// the traffic, else by the set's health), a blue-green set waits at its
// preview for its promotion. Then the switch: every client on the new
// release in one swap, and the old set replaced, or kept warm (keepOld)
// and routed no clients, so that a rollback in that time is one more swap.
func (o *op) progressive(ctx context.Context, f fleet.Fleet, keepOld bool) error {
	e, r, g := o.e, o.r, o.g
	s := strategy.For(r.Strategy)
	last := len(s.Steps(g.Spec(), g.N))
	if r.Step < 1 {
		// Before the first step, while every client stays on the live
		// release.
		if err := f.Prepare(ctx, o, g); err != nil {
			return err
		}
	}
	err := o.takeSteps(ctx, func(ctx context.Context, k int, step strategy.Step) (judge, error) {
		if step.Gate == strategy.GatePromotion {
			o.Event("step", fmt.Sprintf("blue-green: starting %d instance(s) of v%d beside the live set", step.Members, g.Version()), nil)
		}
		w := stepWeight(r, g, k)
		reach, err := f.Place(ctx, o, g, step.Members, w) // the traffic of step k
		if err != nil {
			return nil, err
		}
		if step.Gate == strategy.GateAnalysis {
			o.Event("step", fmt.Sprintf("canary step %d/%d: %d%% of clients on v%d", k, last, w, g.Version()),
				map[string]any{"step": k, "weight": w})
			return o.judgeOf(ctx, f, stepAnalysis(g.Spec()))
		}
		at, data := reach, map[string]any(nil)
		if reach == "" {
			at = proxy.HostURL(e.ProxyURL, e.routes.previewHost(g.App, g.Version()))
			data = map[string]any{"preview": at}
			reach = "its preview " + at
		}
		o.Event("step", fmt.Sprintf("v%d is ready at %s; it takes traffic when promoted", g.Version(), reach), data)
		if step.AutoPromote > 0 {
			o.Event("step", fmt.Sprintf("every client switches to v%d in %s (auto_promote_after), or at `nonstop promote %s`", g.Version(), step.AutoPromote, g.App.Name), nil)
		} else {
			o.Event("waiting", waitingForPromote(g, at), nil)
		}
		return nil, nil
	})
	if err != nil {
		return err
	}
	// The switch: every client on the new release; then the rolling
	// replacement of the rest, or the old set kept warm.
	r.Step = last + 1
	if err := o.transition(store.RolloutShifting, ""); err != nil {
		return err
	}
	if err := f.Switch(ctx, o, g, keepOld); err != nil {
		return err
	}
	if keepOld {
		o.Event("step", fmt.Sprintf("switched: every client on v%d; the old set stays warm for %s", g.Version(), s.KeepOld(g.Spec())), nil)
	}
	return nil
}

// awaitPromotion waits for `nonstop promote`, or until after when it is > 0.
func (o *op) awaitPromotion(ctx context.Context, after time.Duration) error {
	e, r := o.e, o.r
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
			o.Event("step", "promoted after "+after.String(), nil)
			return nil
		case sig := <-signals:
			if sig == SignalPromote || sig == SignalPromoteFull {
				o.Event("step", "promoted by hand", nil)
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
