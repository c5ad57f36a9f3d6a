package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// Signals a user sends to a canary rollout in progress.
const (
	SignalPromote     = "promote"      // end the current step now: on to the next
	SignalPromoteFull = "promote-full" // skip the remaining steps
	SignalPause       = "pause"        // hold the current step (analysis goes on)
	SignalResume      = "resume"       // let it go on
)

var errPromoteFull = errors.New("promoted to 100%")

// scaleCanary starts instances of the new release until want serve.
func (e *Engine) scaleCanary(ctx context.Context, r *store.Rollout, g *goal, want int) error {
	active, err := e.Store.ActiveInstances(ctx, g.app.ID)
	if err != nil {
		return err
	}
	have := 0
	for _, in := range active {
		if in.Release == g.version() && in.State == store.InstanceServing {
			have++
		}
	}
	if have >= want {
		return nil
	}
	return e.startMany(ctx, r, g, want-have)
}

// judge analyses a canary once; it is called every analysis interval.
type judge func(ctx context.Context) (finding, error)

// finding is one analysis of a canary: its verdict and why and, for an
// analysis of traffic, how many requests it had and needs (need 0: the
// verdict does not depend on traffic).
type finding struct {
	verdict        strategy.Verdict
	why            string
	requests, need int64
}

// proxyJudge judges the canary from the proxy's own measurements, and from
// its health checks. Each analysis covers what was served since the last
// conclusive one: at low traffic an inconclusive window keeps growing until
// it holds enough requests to judge, instead of starting again empty.
func (e *Engine) proxyJudge(ctx context.Context, g *goal, a spec.Analysis) (judge, error) {
	before, err := e.readings(ctx, g.app.Name)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (finding, error) {
		now, err := e.readings(ctx, g.app.Name)
		if err != nil {
			return finding{verdict: strategy.Fail}, err
		}
		canary, stable := strategy.Windows(before, now, g.version())
		if sick := e.sickCanary(ctx, g); sick != "" {
			return finding{verdict: strategy.Fail, why: "canary heartbeat failed: " + sick}, nil
		}
		verdict, why := strategy.Analyze(a, canary, stable)
		switch verdict {
		case strategy.Fail:
			why = "canary analysis failed: " + why
			fallthrough
		case strategy.Pass:
			before = now
		}
		return finding{verdict: verdict, why: why, requests: canary.Requests, need: int64(a.MinRequests)}, nil
	}, nil
}

// watchStep waits out one step: its pause (or a promote), judging the
// canary every interval. It returns nil to go on to the next step. When
// the pause is over and the analysis is still inconclusive (too little
// traffic to judge), the step's on_inconclusive decides: wait (saying so,
// for a promote, an abort or enough traffic), promote, or roll back.
func (e *Engine) watchStep(ctx context.Context, r *store.Rollout, step strategy.Step, a spec.Analysis, judge judge) error {
	signals := e.signalsOf(r.ID)
	deadline := e.Now().Add(step.Pause)
	passed, paused := false, false
	var last finding
	var waitingSaid time.Time
	tick := e.Clock.NewTicker(a.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return errStopped
		case sig := <-signals:
			switch sig {
			case SignalPromote:
				e.event(r, "step", "promoted by hand", nil)
				return nil
			case SignalPromoteFull:
				e.event(r, "step", "promoted to 100% by hand", nil)
				return errPromoteFull
			case SignalPause:
				if !paused {
					paused = true
					e.record(r, store.RolloutPaused, "")
				}
			case SignalResume:
				if paused {
					paused = false
					e.record(r, store.RolloutShifting, "")
				}
			}
		case <-tick.C():
			f, err := judge(ctx)
			if err != nil {
				return err
			}
			switch f.verdict {
			case strategy.Fail:
				return errors.New(f.why)
			case strategy.Pass:
				passed = true
				e.event(r, "analysis", "analysis passed: "+f.why, nil)
			default:
				if last.verdict != strategy.Inconclusive || last.why == "" {
					// Said once, not every interval: the counts that
					// follow are in the waiting line below.
					e.event(r, "analysis", "analysis inconclusive: "+f.why, nil)
				}
			}
			last = f
			if paused || step.Manual || e.Now().Before(deadline) {
				continue
			}
			if passed {
				return nil
			}
			switch a.OnInconclusive {
			case spec.InconclusivePromote:
				e.event(r, "step", fmt.Sprintf("pause over with too little traffic to judge (%d of %d requests): promoted on health checks alone, as on_inconclusive says", f.requests, f.need), nil)
				return nil
			case spec.InconclusiveRollback:
				return fmt.Errorf("pause over with too little traffic to judge the canary (%d of %d requests): rolled back, as on_inconclusive says", f.requests, f.need)
			}
			if now := e.Now(); waitingSaid.IsZero() || now.Sub(waitingSaid) >= waitingRepeat {
				waitingSaid = now
				e.event(r, "waiting", waitingForTraffic(r.App, f), map[string]any{"requests": f.requests, "need": f.need})
			}
		}
	}
}

// waitingRepeat is how often a canary waiting for traffic says so again,
// with its counts.
const waitingRepeat = 30 * time.Second

// waitingForTraffic says what a canary step waits for and what to do.
func waitingForTraffic(app string, f finding) string {
	what := "waiting for the analysis to conclude (" + f.why + ")"
	if f.need > 0 {
		what = fmt.Sprintf("waiting for traffic: %d of %d requests", f.requests, f.need)
	}
	return what + " — `nonstop promote " + app + "` to go on, `nonstop abort " + app + "` to roll back"
}

// readings are the proxy's counters of an app's releases, by release.
func (e *Engine) readings(ctx context.Context, app string) (map[int]proxy.ReleaseMetrics, error) {
	ms, err := e.Proxy.Metrics(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("read the proxy's measurements: %w", err)
	}
	out := map[int]proxy.ReleaseMetrics{}
	for _, m := range ms {
		out[m.Release] = m
	}
	return out, nil
}

// sickCanary names a canary instance the proxy's health checks took out.
func (e *Engine) sickCanary(ctx context.Context, g *goal) string {
	sts, err := e.Proxy.Status(ctx, g.app.Name)
	if err != nil {
		return ""
	}
	for _, st := range sts {
		if st.Release == g.version() && !st.Healthy {
			return fmt.Sprintf("instance %s is unhealthy: %s", st.ID, st.LastErr)
		}
	}
	return ""
}

// Signal sends a signal to the app's canary rollout in progress.
func (e *Engine) Signal(ctx context.Context, app *store.App, sig string) (*store.Rollout, error) {
	rs, err := e.Store.Rollouts(ctx, app.ID, 1)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 || rs[0].State.Terminal() {
		return nil, fmt.Errorf("app %s has no rollout in progress: %w", app.Name, ErrInvalid)
	}
	r := rs[0]
	if !strategy.Progressive(strategy.For(r.Strategy)) {
		return nil, fmt.Errorf("rollout #%d is %s: only canary and blue-green rollouts have steps to promote or pause: %w", r.ID, r.Strategy, ErrInvalid)
	}
	if r.Strategy == string(spec.StrategyBlueGreen) && (sig == SignalPause || sig == SignalResume) {
		return nil, fmt.Errorf("rollout #%d is blue-green: it waits for promote by itself; pause and resume are for canaries: %w", r.ID, ErrInvalid)
	}
	select {
	case e.signalsOf(r.ID) <- sig:
	case <-time.After(5 * time.Second): // the caller's wait, not the rollout's: real time
		return nil, fmt.Errorf("rollout #%d is not at a step yet; try again: %w", r.ID, store.ErrConflict)
	}
	return r, nil
}

// signalsOf returns the channel that carries rollout id's signals.
func (e *Engine) signalsOf(id int64) chan string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.signals[id]
	if !ok {
		ch = make(chan string)
		e.signals[id] = ch
	}
	return ch
}

// dropRelease takes every instance of a release out of the route in one
// swap (and the split with them): a failed canary's clients are all back
// on stable at once; the instances then drain.
func (e *Engine) dropRelease(ctx context.Context, appID int64, version int) error {
	active, err := e.Store.ActiveInstances(ctx, appID)
	if err != nil {
		return err
	}
	for _, in := range active {
		if in.Release == version && in.State == store.InstanceServing {
			if err := e.Store.SetInstanceState(ctx, in.ID, store.InstanceDraining, ""); err != nil {
				return err
			}
		}
	}
	return e.pushRoute(ctx, appID)
}
