package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// placer puts step k of a progressive rollout in place (the new release's
// set at the step's members, the traffic the step has) and, for a step
// ended by its analysis, says how the new release is judged.
type placer func(ctx context.Context, k int, step strategy.Step) (judge, error)

// takeSteps runs the plan of r's strategy from r's recorded step on: each
// step is recorded (state shifting, step k) before place acts, so the
// route's traffic follows it and a restart resumes there; then the step's
// gate is waited for. It returns when every step passed, or a promote to
// 100% skipped the rest; the switch (step len+1) is the caller's.
func (o *op) takeSteps(ctx context.Context, place placer) error {
	r, g := o.r, o.g
	steps := strategy.For(r.Strategy).Steps(g.Spec(), g.N)
	for k := max(r.Step, 1); k <= len(steps); k++ {
		step := steps[k-1]
		r.Step = k
		if err := o.transition(store.RolloutShifting, ""); err != nil {
			return err
		}
		judge, err := place(ctx, k, step)
		if err != nil {
			return err
		}
		switch step.Gate {
		case strategy.GateAnalysis:
			err := o.watchStep(ctx, step, stepAnalysis(g.Spec()), judge)
			if errors.Is(err, errPromoteFull) {
				return nil
			}
			if err != nil {
				return err
			}
			o.Event("step", fmt.Sprintf("canary step %d passed", k), map[string]any{"step": k})
			o.notifyStep(k)
		case strategy.GatePromotion:
			if err := o.awaitPromotion(ctx, step.AutoPromote); err != nil {
				return err
			}
		}
	}
	return nil
}

// stepAnalysis is the analysis a canary's steps are judged by.
func stepAnalysis(sp *spec.Spec) spec.Analysis {
	if c := sp.Deploy.Canary; c != nil {
		return c.Analysis
	}
	return strategy.AnalysisOf(sp)
}

// stepWeight is the share of clients step k sends to the goal's release.
func stepWeight(r *store.Rollout, g *fleet.Goal, k int) int {
	t, _ := strategy.For(r.Strategy).Traffic(g.Spec(), g.Version(), k)
	return t.Weight
}

// waitingForPromote says how to end a step that waits for its promotion.
func waitingForPromote(g *fleet.Goal, where string) string {
	return fmt.Sprintf("waiting for promote: try v%d at %s — `nonstop promote %s` switches every client to it, `nonstop abort %s` rolls back",
		g.Version(), where, g.App.Name, g.App.Name)
}
