package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// op is one rollout being carried out, toward goal g: it moves the
// rollout through its states (history.go), runs it forward or back
// (run.go, progressive.go, steps.go, canary.go, bake.go), and is what a
// fleet acts for (fleet.Op): what the fleet does goes into the rollout's
// history, its steps are recorded before they are taken, and a rolling
// rollout's batches are judged between them.
type op struct {
	e *Engine
	r *store.Rollout
	g *fleet.Goal

	since            map[int]proxy.ReleaseMetrics // the readings the next batch judgement starts from
	saidInconclusive bool
}

var _ fleet.Op = (*op)(nil)

func (e *Engine) opOf(r *store.Rollout, g *fleet.Goal) *op { return &op{e: e, r: r, g: g} }

// with is o working toward goal g from now on.
func (o *op) with(g *fleet.Goal) *op {
	o.g = g
	return o
}

func (o *op) Rollout() *store.Rollout { return o.r }

// Stopping reports whether ctx ended because nonstop is stopping, not by
// an abort of the rollout.
func (o *op) Stopping(ctx context.Context) bool { return o.e.stopping(ctx) }

// why is the reason a rollout that failed with err ends with: the abort's
// when it was aborted.
func (o *op) why(err error) string {
	if why := o.e.abortedWhy(o.r.ID); why != "" {
		return why
	}
	return err.Error()
}

func (o *op) Route(ctx context.Context) error { return o.e.routes.push(ctx, o.r.AppID) }

// Step counts the rollout's next step; going forward it is recorded as
// state shifting first.
func (o *op) Step(context.Context) error {
	o.r.Step++
	if o.r.State == store.RolloutRollingBack {
		return nil
	}
	return o.transition(store.RolloutShifting, "")
}

// Between judges, on a deploy or an env change going forward, what the
// new release served since the last batch went live (no waiting: a batch
// that served too little to judge goes on).
func (o *op) Between(ctx context.Context, started bool) error {
	r, g := o.r, o.g
	if g.Release == nil || r.State == store.RolloutRollingBack || (r.Kind != store.KindDeploy && r.Kind != store.KindEnv) {
		return nil
	}
	if started {
		since, err := readings(ctx, o.e.Proxy, g.App.Name)
		if err != nil {
			return err
		}
		o.since = since
	}
	if o.since == nil {
		return nil
	}
	now, err := readings(ctx, o.e.Proxy, g.App.Name)
	if err != nil {
		return err
	}
	fresh, others := strategy.Windows(o.since, now, g.Version())
	o.since = now
	a := strategy.AnalysisOf(g.Spec())
	switch verdict, why := strategy.Analyze(a, fresh, others); verdict {
	case strategy.Fail:
		return errors.New("analysis between batches failed: " + why)
	case strategy.Inconclusive:
		if !o.saidInconclusive {
			o.saidInconclusive = true
			o.Event("analysis", fmt.Sprintf("too little traffic to judge v%d between batches (%d of %d requests): going on, on its health checks", g.Version(), fresh.Requests, a.MinRequests), nil)
		}
	}
	return nil
}
