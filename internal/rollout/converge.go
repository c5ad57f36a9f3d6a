package rollout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// goal is where a rollout converges: n instances of release, alone. A nil
// release with n == 0 means no instance at all (a stop, or undoing a first
// deploy).
type goal struct {
	app     *store.App
	release *store.Release
	n       int
	// fallback supplies drain and stop timeouts when release is nil.
	fallback *spec.Spec
}

func (g *goal) version() int {
	if g.release == nil {
		return 0
	}
	return g.release.Version
}

func (g *goal) spec() *spec.Spec {
	if g.release != nil {
		return &g.release.Spec
	}
	if g.fallback != nil {
		return g.fallback
	}
	def := &spec.Spec{}
	def.Deploy.DrainTimeout = 30 * time.Second
	def.Deploy.StopTimeout = 10 * time.Second
	def.Deploy.MaxSurge = 1
	return def
}

// converge acts, one planned step at a time, until the goal holds. Each step
// is recorded (state shifting, step k) before it is taken.
func (e *Engine) converge(ctx context.Context, r *store.Rollout, g *goal) error {
	sp := g.spec()
	// Between batches, the new release is judged on what it served since
	// the last batch went live (no waiting: a batch that served too little
	// to judge goes on).
	judge := g.release != nil && r.State != store.RolloutRollingBack && (r.Kind == store.KindDeploy || r.Kind == store.KindEnv)
	var since map[int]proxy.ReleaseMetrics
	saidInconclusive := false
	for {
		if err := ctx.Err(); err != nil {
			return errStopped
		}
		active, err := e.Store.ActiveInstances(ctx, g.app.ID)
		if err != nil {
			return err
		}
		step := planRolling(g.version(), g.n, sp.Deploy.MaxSurge, sp.Deploy.MaxUnavailable, active)
		if judge && since != nil {
			now, err := e.readings(ctx, g.app.Name)
			if err != nil {
				return err
			}
			fresh, others := strategy.Windows(since, now, g.version())
			since = now
			switch verdict, why := strategy.Analyze(strategy.AnalysisOf(sp), fresh, others); verdict {
			case strategy.Fail:
				return errors.New("analysis between batches failed: " + why)
			case strategy.Inconclusive:
				if saidInconclusive {
					break
				}
				saidInconclusive = true
				e.event(r, "analysis", fmt.Sprintf("too little traffic to judge v%d between batches (%d of %d requests): going on, on its health checks", g.version(), fresh.Requests, strategy.AnalysisOf(sp).MinRequests), nil)
			}
		}
		if step.Action == ActDone {
			return nil
		}
		r.Step++
		if r.State != store.RolloutRollingBack {
			if err := e.transition(r, store.RolloutShifting, ""); err != nil {
				return err
			}
		}
		switch step.Action {
		case ActStart:
			e.event(r, "step", fmt.Sprintf("step %d: start %d instance(s) of v%d", r.Step, step.Count, g.version()), nil)
			if err = e.startMany(ctx, r, g, step.Count); err == nil && judge {
				since, err = e.readings(ctx, g.app.Name)
			}
		case ActRetire:
			e.event(r, "step", fmt.Sprintf("step %d: retire instance %s (v%d)", r.Step, step.Instance.ID, step.Instance.Release), nil)
			err = e.retireInstance(ctx, r, g, step.Instance)
		}
		if err != nil {
			if e.stopping(ctx) {
				return errStopped
			}
			return err
		}
		e.progress(ctx, r, g)
	}
}

// startMany starts k instances at once and returns the first failure, after
// all have settled.
func (e *Engine) startMany(ctx context.Context, r *store.Rollout, g *goal, k int) error {
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.startInstance(ctx, r, g)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if errors.Is(err, errStopped) {
			return errStopped
		}
	}
	return errors.Join(errs...)
}

// progress records how far the goal is, for progress bars.
func (e *Engine) progress(ctx context.Context, r *store.Rollout, g *goal) {
	active, err := e.Store.ActiveInstances(ctx, g.app.ID)
	if err != nil {
		return
	}
	ready, other := 0, 0
	for _, in := range active {
		if in.State == store.InstanceServing && in.Release == g.version() {
			ready++
		} else {
			other++
		}
	}
	e.event(r, "progress", fmt.Sprintf("v%d: %d/%d instances serving, %d other", g.version(), ready, g.n, other),
		map[string]any{"ready": ready, "total": g.n, "other": other, "version": g.version()})
}
