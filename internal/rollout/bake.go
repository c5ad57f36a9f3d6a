package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// bake watches a release that just went live for the spec's bake time: the
// proxy's measurements of it are analysed every interval, and a breach of
// the limits rolls the app back to the release before, by itself.
func (o *op) bake() {
	e, r, g := o.e, o.r, o.g
	sp := g.Spec()
	if sp.Deploy.Bake <= 0 || r.FromRelease == 0 || r.FromRelease == r.ToRelease {
		return
	}
	a := strategy.AnalysisOf(sp)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		o.Event("bake", fmt.Sprintf("v%d bakes for %s: a breach of the analysis limits rolls back to v%d", r.ToRelease, sp.Deploy.Bake, r.FromRelease), nil)
		why, err := o.watchLive(e.ctx, a, e.Clock.After(sp.Deploy.Bake))
		if errors.Is(err, errBaked) {
			o.Event("bake", fmt.Sprintf("v%d baked %s without a breach", r.ToRelease, sp.Deploy.Bake), nil)
			return
		}
		if err != nil || why == "" {
			return
		}
		o.Event("bake", fmt.Sprintf("v%d failed its bake: %s; rolling back to v%d", r.ToRelease, why, r.FromRelease), nil)
		app, err := e.Store.AppByID(e.ctx, r.AppID)
		if err != nil || app.LiveRelease != r.ToRelease {
			return // something else changed the app meanwhile
		}
		if _, err := e.Rollback(e.ctx, app, r.FromRelease, "bake of v"+fmt.Sprint(r.ToRelease)+": "+why); err != nil {
			e.Logger.Error("roll back after a failed bake", "app", app.Name, "err", err)
		}
	}()
}

// errBaked is the end of a bake without a breach.
var errBaked = errors.New("baked")

// watchLive analyses the goal's release every interval until over fires
// (errBaked) or ctx ends; it returns why the release breached the limits,
// or "" when it did not.
func (o *op) watchLive(ctx context.Context, a spec.Analysis, over <-chan time.Time) (string, error) {
	e, g := o.e, o.g
	before, err := readings(ctx, e.Proxy, g.App.Name)
	if err != nil {
		return "", err
	}
	t := e.Clock.NewTicker(a.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-over:
			return "", errBaked
		case <-t.C():
		}
		if app, err := e.Store.AppByID(ctx, g.App.ID); err != nil || app.LiveRelease != g.Version() {
			return "", err // rolled back or replaced meanwhile
		}
		now, err := readings(ctx, e.Proxy, g.App.Name)
		if err != nil {
			return "", err
		}
		live, others := strategy.Windows(before, now, g.Version())
		before = now
		if verdict, why := strategy.Analyze(a, live, others); verdict == strategy.Fail {
			return why, nil
		}
	}
}
