package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/notify"
	"github.com/nonstopdev/nonstop/internal/store"
)

// What a rollout records as it goes: the lines of its history, its state
// changes (each checked by the store against the state machine), and who
// is told of them.

// event records a line of a rollout's history and logs it.
func (o *op) Event(kind, msg string, data map[string]any) {
	e, r := o.e, o.r
	// Recorded even while the engine is stopping: the history must say so.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.Store.AddEvent(ctx, store.Event{AppID: r.AppID, RolloutID: r.ID, Time: e.Now(), Kind: kind, Message: msg, Data: data}); err != nil {
		e.Logger.Error("record event", "app", r.App, "rollout", r.ID, "err", err)
	}
	e.Logger.Info(msg, "app", r.App, "rollout", r.ID, "kind", kind)
}

// transition records a state change of r, with its event, then updates r.
func (o *op) transition(to store.RolloutState, reason string) error {
	return o.transitionNote(to, reason, "")
}

// transitionNote is transition with a note added to the state event.
func (o *op) transitionNote(to store.RolloutState, reason, note string) error {
	e, r := o.e, o.r
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	was := r.State
	if err := e.Store.TransitionNote(ctx, r.ID, to, r.Step, reason, note); err != nil {
		return err
	}
	e.mu.Lock()
	delete(e.problems, r.ID) // recorded after all
	e.mu.Unlock()
	r.State = to
	o.notify(was, to, reason)
	if reason != "" {
		r.Reason = reason
	}
	e.Logger.Info("rollout "+string(to), "app", r.App, "rollout", r.ID, "reason", reason, "note", note)
	return nil
}

// record makes a transition no caller can act on when it fails (the
// rollout is ending, or a user's signal): a failure is logged as an error
// naming the rollout and the state it could not reach, listed among the
// engine's Problems (GET /healthz shows them), and the rollout is left
// where the store has it, for the next start to resume.
func (o *op) record(to store.RolloutState, reason string) {
	if err := o.transition(to, reason); err != nil {
		o.unrecorded(to, reason, err)
	}
}

// unrecorded logs and lists a state of r the store did not take.
func (o *op) unrecorded(to store.RolloutState, reason string, err error) {
	e, r := o.e, o.r
	e.Logger.Error("record rollout state", "app", r.App, "rollout", r.ID, "to", to, "reason", reason, "err", err)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.problems[r.ID] = Problem{Rollout: r.ID, App: r.App, Time: e.Now(),
		What: fmt.Sprintf("could not record its state %s (%s): %v; it is left %s, for the next start of nonstop to resume", to, reason, err, r.State)}
}

// logFailed logs a store write that failed where nothing can be undone:
// what it was for, and for which rollout.
func (o *op) logFailed(what string, err error) {
	if err != nil {
		r := o.r
		o.e.Logger.Error(what, "app", r.App, "rollout", r.ID, "err", err)
	}
}

// notify tells the Notifier about a transition worth telling: a rollout
// started, paused, resumed, failed, rolled back or succeeded.
func (o *op) notify(was, to store.RolloutState, reason string) {
	e, r := o.e, o.r
	if e.Notifier == nil {
		return
	}
	kind := ""
	switch {
	case to == store.RolloutStarting || to == store.RolloutBuilding && was == store.RolloutPending:
		if was == store.RolloutBuilding {
			return // a deploy's start was told at its build
		}
		kind = notify.KindStarted
	case to == store.RolloutPaused:
		kind = notify.KindPaused
	case was == store.RolloutPaused && to == store.RolloutShifting:
		kind = notify.KindResumed
	case to == store.RolloutFailed:
		kind = notify.KindFailed
	case to == store.RolloutRolledBack:
		kind = notify.KindRolledBack
	case to == store.RolloutDone:
		kind = notify.KindSucceeded
	default:
		return
	}
	if reason == "" {
		reason = r.Reason
	}
	e.Notifier.Notify(notify.Event{Kind: kind, App: r.App, Rollout: r.ID, Release: r.ToRelease, From: r.FromRelease,
		Strategy: r.Strategy, Step: r.Step, Reason: reason})
}

// notifyStep tells the Notifier a canary step passed.
func (o *op) notifyStep(step int) {
	e, r := o.e, o.r
	if e.Notifier != nil {
		e.Notifier.Notify(notify.Event{Kind: notify.KindStepPassed, App: r.App, Rollout: r.ID, Release: r.ToRelease,
			From: r.FromRelease, Strategy: r.Strategy, Step: step})
	}
}
