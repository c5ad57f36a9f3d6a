package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/store"
)

// The heartbeat: after its rollout, every live instance stays under the
// proxy's active health checks. One that stays unhealthy (ejected by the
// proxy) longer than sickFor is replaced: a new instance of the live
// release is started, health-gated, then the sick one drained and stopped.
const (
	heartbeatEvery = 2 * time.Second
	sickFor        = 10 * time.Second
)

// StartHeartbeat runs the heartbeat until the engine closes.
func (e *Engine) StartHeartbeat() {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		sickSince := map[string]time.Time{}
		t := e.Clock.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-e.ctx.Done():
				return
			case <-t.C():
			}
			e.heartbeat(sickSince)
		}
	}()
}

func (e *Engine) heartbeat(sickSince map[string]time.Time) {
	ctx := e.ctx
	apps, err := e.Store.Apps(ctx)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, app := range apps {
		if app.State != store.AppRunning || app.LiveRelease == 0 {
			continue
		}
		sts, err := e.Proxy.Status(ctx, app.Name)
		if err != nil {
			continue
		}
		for _, st := range sts {
			if st.Healthy {
				continue
			}
			seen[st.ID] = true
			since, ok := sickSince[st.ID]
			if !ok {
				sickSince[st.ID] = e.Now()
				continue
			}
			if e.Now().Sub(since) >= sickFor && st.Release == app.LiveRelease {
				// Replaced, or a rollout is going on: either way, look at it
				// again only after another sickFor (no storm of attempts).
				e.replace(ctx, app, st.ID, st.LastErr)
				sickSince[st.ID] = e.Now()
			}
		}
	}
	for id := range sickSince {
		if !seen[id] {
			delete(sickSince, id) // healthy again, or gone
		}
	}
}

// replace starts a replacement for a sick instance of the live release, as
// a rollout of its own (so it waits for none and none waits for it).
func (e *Engine) replace(ctx context.Context, app *store.App, id, why string) error {
	rel, err := e.Store.Release(ctx, app.ID, app.LiveRelease)
	if err != nil {
		return err
	}
	r, err := e.Store.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindRecover, FromRelease: app.LiveRelease, ToRelease: app.LiveRelease,
		Instances: fleet.Desired(app, rel), Strategy: string(rel.Spec.Deploy.Strategy), CreatedBy: "heartbeat"})
	if err != nil {
		return err // a rollout is going on: the next beat looks again
	}
	e.run(r, func(o *op, ctx context.Context) {
		err := func() error {
			if err := o.transition(store.RolloutStarting, ""); err != nil {
				return err
			}
			o.Event("instance", fmt.Sprintf("instance %s failed its health checks for %s (%s): replacing it", id, sickFor, why), nil)
			g, err := e.goalOf(ctx, r, r.ToRelease, r.Instances)
			if err != nil {
				return err
			}
			r.Step = 1
			if err := o.transition(store.RolloutShifting, ""); err != nil {
				return err
			}
			f, err := e.fleets.ofGoal(g)
			if err != nil {
				return err
			}
			if err := f.Replace(ctx, o.with(g), g, id); err != nil {
				return err
			}
			if err := o.transition(store.RolloutVerifying, ""); err != nil {
				return err
			}
			return o.transition(store.RolloutDone, fmt.Sprintf("instance %s replaced", id))
		}()
		if err != nil && !errors.Is(err, errStopped) {
			// The sick instance stays (out of the route): nothing to undo.
			o.record(store.RolloutRollingBack, o.why(err))
			o.record(store.RolloutFailed, "")
		}
	})
	return nil
}
