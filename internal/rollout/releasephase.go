package rollout

import (
	"context"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// releasePhaseDue reports whether rollout r runs its release's release
// phase before it starts instances: a deploy or an env change (a new
// release) with a release: command, at its start. A rollback, a scale or
// a start runs a release that had its phase. A rollout resumed before its
// first step runs it again: a release phase must be safe to run twice.
func (o *op) releasePhaseDue(g *fleet.Goal) bool {
	r := o.r
	return (r.Kind == store.KindDeploy || r.Kind == store.KindEnv) && r.State == store.RolloutStarting && r.Step == 0 &&
		g.Release != nil && g.Spec().Release != ""
}

// releasePhase runs the release phase of g's release on fleet f. With
// release_hold, the app's incoming requests are held (at most that long
// each) from before it starts; the returned func lets them through, which
// the caller does once the new release alone serves (a rolling deploy),
// or at once (a canary or blue-green deploy, whose old set serves on). A
// failed phase lets them through and is the rollout's error: no instance
// of the release started, the live one serves on.
func (o *op) releasePhase(ctx context.Context, f fleet.Fleet, g *fleet.Goal) (letThrough func(), err error) {
	e, sp := o.e, g.Spec()
	rr, ok := f.(fleet.ReleaseRunner)
	if !ok {
		return nil, fmt.Errorf("this fleet cannot run a release phase: %w", ErrUnsupported)
	}
	letThrough = func() {}
	if sp.ReleaseHold > 0 && g.App.Hold == nil { // an app held by hand stays held
		h := &store.Hold{MaxWait: sp.ReleaseHold, MaxQueue: proxy.DefaultHold.MaxQueue, Since: e.Now().UTC()}
		if err := e.Store.SetAppHold(ctx, g.App.ID, h); err != nil {
			return nil, fmt.Errorf("hold requests for the release phase: %w", err)
		}
		if err := e.routes.push(ctx, g.App.ID); err != nil {
			e.Store.SetAppHold(context.WithoutCancel(ctx), g.App.ID, nil)
			return nil, fmt.Errorf("hold requests for the release phase: %w", err)
		}
		o.Event("step", fmt.Sprintf("holding %s's requests (at most %s each) for the release phase of v%d", g.App.Name, sp.ReleaseHold, g.Version()), nil)
		letThrough = func() {
			ctx := context.WithoutCancel(ctx)
			if err := e.Store.SetAppHold(ctx, g.App.ID, nil); err != nil {
				o.Event("note", "let held requests through: "+err.Error(), nil)
				return
			}
			if err := e.routes.push(ctx, g.App.ID); err != nil {
				o.Event("note", "let held requests through (recorded; the proxy gets it at the next route change): "+err.Error(), nil)
				return
			}
			o.Event("step", fmt.Sprintf("held requests let through, first come first, to v%d", g.Version()), nil)
		}
	}
	o.Event("step", fmt.Sprintf("release phase of v%d: %s", g.Version(), sp.Release), nil)
	start := e.Now()
	if err := rr.RunRelease(ctx, o.with(g), g); err != nil {
		letThrough()
		return nil, fmt.Errorf("release phase of v%d: %w", g.Version(), err)
	}
	o.Event("step", fmt.Sprintf("release phase of v%d done in %s", g.Version(), e.Now().Sub(start).Round(10e6)), nil)
	return letThrough, nil
}
