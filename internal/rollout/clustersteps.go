package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// The steps of canary and blue-green rollouts on Kubernetes, and the fold
// that ends them (see cluster.go for the shape of an app on a cluster).

// clusterProgressive runs a canary or blue-green rollout's steps on
// Kubernetes: for each, the release's own set sized for the step, then the
// traffic of the step on every path (clusterShift). A canary step is
// judged during its pause by its pods' health (and by the proxy's
// measurements when it carries the traffic); a blue-green set waits at its
// preview Service for its promotion. Then the switch: with keep_old_for
// the stable Deployment stays on the old release, warm and out of
// traffic (the fold comes later); else the fold follows at once.
func (e *Engine) clusterProgressive(ctx context.Context, r *store.Rollout, g *goal) error {
	s := strategy.For(r.Strategy)
	last := len(s.Steps(g.spec(), g.n))
	err := e.takeSteps(ctx, r, g, func(ctx context.Context, k int, step strategy.Step) (judge, error) {
		w := stepWeight(r, g, k)
		if err := e.startSet(ctx, r, g, step.Members); err != nil {
			return nil, err
		}
		if err := e.clusterShift(ctx, g.app, g.spec(), g.version(), w); err != nil {
			return nil, err
		}
		set := kubernetes.SetName(g.app.Name, g.version())
		if step.Gate == strategy.GatePromotion {
			e.event(r, "step", fmt.Sprintf("v%d is ready at its preview service %s; it takes traffic when promoted", g.version(), set), nil)
			if step.AutoPromote <= 0 {
				e.event(r, "waiting", waitingForPromote(g, "its preview service "+set), nil)
			}
			return nil, nil
		}
		e.event(r, "step", fmt.Sprintf("canary step %d/%d: %d%% of clients on %s", k, last, w, set), map[string]any{"step": k, "weight": w})
		if g.spec().Kubernetes.Gateway == nil && e.PodNetwork {
			return e.proxyPodJudge(ctx, g, stepAnalysis(g.spec()))
		}
		return e.podJudge(g), nil
	})
	if err != nil {
		return err
	}
	keep := s.KeepOld(g.spec())
	if keep <= 0 {
		return e.clusterFold(ctx, r, g, last+1)
	}
	if err := e.switchToSet(ctx, r, g, last+1); err != nil {
		return err
	}
	e.event(r, "step", fmt.Sprintf("the stable deployment keeps v%d warm for %s", r.FromRelease, keep), nil)
	return nil
}

// podJudge judges a canary on Kubernetes by its pods alone: all ready
// passes, any not ready fails.
func (e *Engine) podJudge(g *goal) judge {
	w := e.workload(g, g.version(), 0)
	return func(ctx context.Context) (finding, error) {
		p, err := e.Cluster.Progress(ctx, w.Namespace(), w.Name())
		if err != nil {
			return finding{verdict: strategy.Inconclusive, why: err.Error()}, nil
		}
		if !p.Found || p.Ready == 0 {
			return finding{verdict: strategy.Fail, why: fmt.Sprintf("canary deployment %s has no ready pod (%s)", w.Name(), p)}, nil
		}
		problems, err := e.Cluster.PodProblems(ctx, w.App, &w.Spec, w.Set, w.Release)
		if err != nil {
			return finding{verdict: strategy.Inconclusive, why: err.Error()}, nil
		}
		if len(problems) > 0 {
			return finding{verdict: strategy.Fail, why: "canary pods unhealthy: " + strings.Join(problems, "; ")}, nil
		}
		return finding{verdict: strategy.Pass, why: fmt.Sprintf("health only (the Gateway carries the traffic): %d/%d pods ready", p.Ready, p.Wanted)}, nil
	}
}

// proxyPodJudge judges a canary whose traffic nonstop's proxy carries:
// its pods must stay ready, and the proxy's measurements must pass.
func (e *Engine) proxyPodJudge(ctx context.Context, g *goal, a spec.Analysis) (judge, error) {
	pods := e.podJudge(g)
	measured, err := e.proxyJudge(ctx, g, a)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (finding, error) {
		if f, err := pods(ctx); f.verdict == strategy.Fail || err != nil {
			return f, err
		}
		return measured(ctx)
	}, nil
}

// switchToSet records step, then moves every client to the release's own
// set, at full size.
func (e *Engine) switchToSet(ctx context.Context, r *store.Rollout, g *goal, step int) error {
	r.Step = step
	if err := e.transition(r, store.RolloutShifting, ""); err != nil {
		return err
	}
	if err := e.startSet(ctx, r, g, g.n); err != nil {
		return err
	}
	if err := e.clusterShift(ctx, g.app, g.spec(), g.version(), 100); err != nil {
		return err
	}
	e.event(r, "step", fmt.Sprintf("switched: every client on %s", kubernetes.SetName(g.app.Name, g.version())), nil)
	return nil
}

// clusterFoldWarm folds a live release that still runs in a set of its
// own (a blue-green switch whose old release is kept warm) into the
// stable Deployment, before a canary or blue-green rollout starts from it.
func (e *Engine) clusterFoldWarm(ctx context.Context, r *store.Rollout) error {
	live, err := e.goalOf(ctx, r, r.FromRelease, 0)
	if err != nil || live.release == nil {
		return err
	}
	sets, err := e.Cluster.Sets(ctx, live.app.Name, live.spec())
	if err != nil || !slices.Contains(sets, r.FromRelease) {
		return err
	}
	live.n = desired(live.app, live.release)
	e.event(r, "step", fmt.Sprintf("v%d runs in a set of its own (its blue-green switch kept the release before warm): folding it into the stable deployment first", r.FromRelease), nil)
	if err := e.clusterRoll(ctx, r, live, live.n); err != nil {
		return err
	}
	if err := e.clusterShift(ctx, live.app, live.spec(), 0, 0); err != nil {
		return err
	}
	return e.Cluster.DeleteSet(ctx, live.app.Name, live.spec(), r.FromRelease)
}

// clusterFold ends a canary or blue-green rollout: the release's own set
// at full size takes every client, the stable Deployment is rolled to the
// release (out of traffic), the traffic goes back to it, and the
// release's set is deleted (by clusterTidy).
func (e *Engine) clusterFold(ctx context.Context, r *store.Rollout, g *goal, step int) error {
	if err := e.switchToSet(ctx, r, g, step); err != nil {
		return err
	}
	if err := e.clusterRoll(ctx, r, g, g.n); err != nil {
		return err
	}
	return e.clusterShift(ctx, g.app, g.spec(), 0, 0)
}
