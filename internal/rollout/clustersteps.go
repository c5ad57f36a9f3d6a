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

// clusterCanary runs a canary's steps on Kubernetes: for each, the
// release's own set sized for the step's weight, then the HTTPRoute's
// weights; during the step's pause the canary is judged by its pods'
// health (the Gateway carries the traffic, so nonstop has no request
// measurements of it). Then the fold.
func (e *Engine) clusterCanary(ctx context.Context, r *store.Rollout, g *goal) error {
	c := g.spec().Deploy.Canary
	err := e.canarySteps(ctx, r, c, func(ctx context.Context, i int, step spec.CanaryStep) (judge, error) {
		if err := e.startSet(ctx, r, g, strategy.Members(g.n, step.Weight)); err != nil {
			return nil, err
		}
		if err := e.clusterShift(ctx, g.app, g.spec(), g.version(), step.Weight); err != nil {
			return nil, err
		}
		e.event(r, "step", fmt.Sprintf("canary step %d/%d: %d%% of clients on %s", i, len(c.Steps),
			step.Weight, kubernetes.SetName(g.app.Name, g.version())), map[string]any{"step": i, "weight": step.Weight})
		if g.spec().Kubernetes.Gateway == nil && e.PodNetwork {
			return e.proxyPodJudge(ctx, g, c.Analysis)
		}
		return e.podJudge(g), nil
	})
	if err != nil {
		return err
	}
	return e.clusterFold(ctx, r, g, len(c.Steps)+1)
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

// clusterBlueGreen starts the whole new set beside the stable one, waits
// for its promotion and switches every client to it at once. With
// keep_old_for, the stable Deployment stays on the old release, warm and
// out of traffic (the fold comes later); else the fold follows at once.
func (e *Engine) clusterBlueGreen(ctx context.Context, r *store.Rollout, g *goal) error {
	bg := g.spec().Deploy.BlueGreen
	if r.Step <= 1 {
		r.Step = 1
		if err := e.transition(r, store.RolloutShifting, ""); err != nil {
			return err
		}
		if err := e.startSet(ctx, r, g, g.n); err != nil {
			return err
		}
		if err := e.clusterShift(ctx, g.app, g.spec(), g.version(), 0); err != nil {
			return err
		}
		e.event(r, "step", fmt.Sprintf("v%d is ready at its preview service %s; it takes traffic when promoted",
			g.version(), kubernetes.SetName(g.app.Name, g.version())), nil)
		if bg.AutoPromoteAfter <= 0 {
			e.event(r, "waiting", fmt.Sprintf("waiting for promote: `nonstop promote %s` switches every client to v%d, `nonstop abort %s` rolls back", g.app.Name, g.version(), g.app.Name), nil)
		}
		if err := e.awaitPromotion(ctx, r, bg.AutoPromoteAfter); err != nil {
			return err
		}
	}
	if bg.KeepOldFor <= 0 {
		return e.clusterFold(ctx, r, g, 2)
	}
	if err := e.switchToSet(ctx, r, g, 2); err != nil {
		return err
	}
	e.event(r, "step", fmt.Sprintf("the stable deployment keeps v%d warm for %s", r.FromRelease, bg.KeepOldFor), nil)
	return nil
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
