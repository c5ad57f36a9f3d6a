package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/fleet"
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

// judge analyses a canary once; it is called every analysis interval.
type judge func(ctx context.Context) (finding, error)

// finding is one analysis of a canary: its verdict and why and, for an
// analysis of traffic, how many requests it had and needs (need 0: the
// verdict does not depend on traffic).
type finding struct {
	verdict        strategy.Verdict
	why            string
	requests, need int64
	// data are the numbers an analysis of traffic judged, for the
	// dashboard's chart: the window, both sides' counts, the limits.
	data map[string]any
}

// analysisData is what an analysis judged, as its event's data: the
// window it covered, the canary's and stable's requests, error rates and
// p99s (ms), and the limits they were held to.
func analysisData(verdict strategy.Verdict, from, to time.Time, a spec.Analysis, canary, stable strategy.Window) map[string]any {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return map[string]any{
		"verdict": verdict.String(), "from": from.UTC(), "to": to.UTC(),
		"canary_requests": canary.Requests, "canary_error_rate": canary.ErrorRate(), "canary_p99_ms": ms(canary.P99),
		"stable_requests": stable.Requests, "stable_error_rate": stable.ErrorRate(), "stable_p99_ms": ms(stable.P99),
		"min_requests": a.MinRequests, "max_error_rate": a.MaxErrorRate, "max_p99_ms": ms(a.MaxP99Latency),
	}
}

// judgeOf judges a canary step of g on fleet f. Where the proxy carries
// (and measures) the split, each analysis covers what was served since the
// last conclusive one: at low traffic an inconclusive window keeps growing
// until it holds enough requests to judge, instead of starting again
// empty; the set must stay healthy too. Where it does not (a Gateway
// splits), the set's health alone decides.
func (o *op) judgeOf(ctx context.Context, f fleet.Fleet, a spec.Analysis) (judge, error) {
	e, g := o.e, o.g
	if !f.Measures(g.Spec(), true) {
		return func(ctx context.Context) (finding, error) {
			switch h := f.Health(ctx, g); {
			case h.Unknown != "":
				return finding{verdict: strategy.Inconclusive, why: h.Unknown}, nil
			case h.Sick != "":
				return finding{verdict: strategy.Fail, why: h.Sick}, nil
			default:
				return finding{verdict: strategy.Pass, why: "health only (the Gateway carries the traffic): " + h.Seen}, nil
			}
		}, nil
	}
	before, err := readings(ctx, e.Proxy, g.App.Name)
	if err != nil {
		return nil, err
	}
	beforeAt := e.Now()
	return func(ctx context.Context) (finding, error) {
		now, err := readings(ctx, e.Proxy, g.App.Name)
		if err != nil {
			return finding{verdict: strategy.Fail}, err
		}
		canary, stable := strategy.Windows(before, now, g.Version())
		if h := f.Health(ctx, g); h.Sick != "" {
			return finding{verdict: strategy.Fail, why: h.Sick}, nil
		}
		verdict, why := strategy.Analyze(a, canary, stable)
		at := e.Now()
		data := analysisData(verdict, beforeAt, at, a, canary, stable)
		switch verdict {
		case strategy.Fail:
			why = "canary analysis failed: " + why
			fallthrough
		case strategy.Pass:
			before, beforeAt = now, at
		}
		return finding{verdict: verdict, why: why, requests: canary.Requests, need: int64(a.MinRequests), data: data}, nil
	}, nil
}

// watchStep waits out one step: its pause (or a promote), judging the
// canary every interval. It returns nil to go on to the next step. When
// the pause is over and the analysis is still inconclusive (too little
// traffic to judge), the step's on_inconclusive decides: wait (saying so,
// for a promote, an abort or enough traffic), promote, or roll back.
func (o *op) watchStep(ctx context.Context, step strategy.Step, a spec.Analysis, judge judge) error {
	e, r := o.e, o.r
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
				o.Event("step", "promoted by hand", nil)
				return nil
			case SignalPromoteFull:
				o.Event("step", "promoted to 100% by hand", nil)
				return errPromoteFull
			case SignalPause:
				if !paused {
					paused = true
					o.record(store.RolloutPaused, "")
				}
			case SignalResume:
				if paused {
					paused = false
					o.record(store.RolloutShifting, "")
				}
			}
		case <-tick.C():
			f, err := judge(ctx)
			if err != nil {
				return err
			}
			switch f.verdict {
			case strategy.Fail:
				if f.data != nil { // the numbers, for the chart; the rollback says why
					o.Event("analysis", f.why, f.data)
				}
				return errors.New(f.why)
			case strategy.Pass:
				passed = true
				o.Event("analysis", "analysis passed: "+f.why, f.data)
			default:
				if last.verdict != strategy.Inconclusive || last.why == "" {
					// Said once, not every interval: the counts that
					// follow are in the waiting line below.
					o.Event("analysis", "analysis inconclusive: "+f.why, f.data)
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
				o.Event("step", fmt.Sprintf("pause over with too little traffic to judge (%d of %d requests): promoted on health checks alone, as on_inconclusive says", f.requests, f.need), nil)
				return nil
			case spec.InconclusiveRollback:
				return fmt.Errorf("pause over with too little traffic to judge the canary (%d of %d requests): rolled back, as on_inconclusive says", f.requests, f.need)
			}
			if now := e.Now(); waitingSaid.IsZero() || now.Sub(waitingSaid) >= waitingRepeat {
				waitingSaid = now
				o.Event("waiting", waitingForTraffic(r.App, f), map[string]any{"requests": f.requests, "need": f.need})
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
func readings(ctx context.Context, px proxy.Controller, app string) (map[int]proxy.ReleaseMetrics, error) {
	ms, err := px.Metrics(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("read the proxy's measurements: %w", err)
	}
	out := map[int]proxy.ReleaseMetrics{}
	for _, m := range ms {
		out[m.Release] = m
	}
	return out, nil
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
	if (sig == SignalPause || sig == SignalResume) && r.ToRelease > 0 {
		// Known once its release is: a step judged by an analysis can be
		// held; one waiting for a promotion waits by itself.
		rel, err := e.Store.Release(ctx, app.ID, r.ToRelease)
		if err != nil {
			return nil, err
		}
		if !strategy.Judged(strategy.For(r.Strategy), &rel.Spec) {
			return nil, fmt.Errorf("rollout #%d is %s: its steps wait for promote by themselves; pause and resume are for steps an analysis judges (canary): %w", r.ID, r.Strategy, ErrInvalid)
		}
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
