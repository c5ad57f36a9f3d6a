// Package rollout moves apps from one release to another without dropping a
// request. A rollout is a state machine persisted in the store: each
// transition is recorded before the action it names, and every action is
// idempotent, so after a crash the engine reads the rollout back and finishes
// it or rolls it back.
//
// The engine runs a rollout's strategy (package strategy: its plan of
// steps, the traffic of each) against a fleet (package fleet: where the
// instances run, which brings sets of them up and down and moves traffic
// between them), and gives the proxy each app's route as the store has it.
// It never knows which fleet it drives.
package rollout

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/clock"
	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/notify"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Config wires an Engine.
type Config struct {
	Store *store.Store
	// Fleets run the apps' instances: each app on the one that Runs its
	// releases' spec. Fleets[0] also takes the apps with no release yet.
	Fleets []fleet.Fleet
	Proxy  proxy.Controller
	Logger *slog.Logger
	// DataDir holds builds and release folders: DATA/apps/APP/builds/N.
	DataDir string
	// DomainSuffix: app NAME is served at NAME.DomainSuffix.
	DomainSuffix string
	// ProxyURL is where the proxy serves apps (http://HOST:PORT), for the
	// URLs the engine's events print.
	ProxyURL string
	// Clock is what the engine's waits go by (nil: the real one): its
	// steps' pauses, analysis intervals, promotion timers, bakes, polls.
	Clock clock.Clock
	// Now reads Clock (set by New when nil).
	Now func() time.Time
	// Notifier, if set, is told when rollouts start, pass a step, pause,
	// fail, roll back and succeed.
	Notifier *notify.Notifier
}

// Engine runs rollouts, one at a time per app.
type Engine struct {
	Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[int64]context.CancelFunc // rollout id → its cancel
	aborted map[int64]string             // rollout id → why it was aborted
	// problems are the rollouts whose state could not be recorded.
	problems map[int64]Problem

	fleets fleets
	routes *router

	signals map[int64]chan string // rollout id → promote, pause, resume

	recovered   chan struct{} // closed when Recover is done
	recoverOnce sync.Once
}

// New returns an Engine; Close stops the rollouts it runs.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Clock.Now
	}
	if cfg.DomainSuffix == "" {
		cfg.DomainSuffix = "localhost"
	}
	ctx, cancel := context.WithCancel(context.Background())
	fs := fleets{store: cfg.Store, list: cfg.Fleets}
	return &Engine{Config: cfg, ctx: ctx, cancel: cancel, fleets: fs,
		routes: &router{store: cfg.Store, proxy: cfg.Proxy, fleets: fs, suffix: cfg.DomainSuffix}, running: map[int64]context.CancelFunc{}, aborted: map[int64]string{}, problems: map[int64]Problem{},
		signals: map[int64]chan string{}, recovered: make(chan struct{})}
}

// Close stops running rollouts where they stand (their state stays recorded,
// so the next start resumes them) and waits for them to return.
func (e *Engine) Close() {
	e.cancel()
	e.wg.Wait()
}

// start runs fn for rollout id in a goroutine owned by the engine.
func (e *Engine) start(id int64, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(e.ctx)
	e.mu.Lock()
	e.running[id] = cancel
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			e.mu.Lock()
			delete(e.running, id)
			delete(e.aborted, id)
			delete(e.signals, id)
			e.mu.Unlock()
			cancel()
		}()
		fn(ctx)
	}()
}

// Wait blocks until rollout id is over (or ctx ends) and returns it. It
// reads the rollout again each time the store says it was written.
func (e *Engine) Wait(ctx context.Context, id int64) (*store.Rollout, error) {
	written, stop := e.Store.Watch(func(c store.Change) bool { return c.Rollout == id })
	defer stop()
	for {
		r, err := e.Store.Rollout(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.State.Terminal() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-written:
		}
	}
}

// event records a line of a rollout's history and logs it.
func (e *Engine) event(r *store.Rollout, kind, msg string, data map[string]any) {
	// Recorded even while the engine is stopping: the history must say so.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.Store.AddEvent(ctx, store.Event{AppID: r.AppID, RolloutID: r.ID, Time: e.Now(), Kind: kind, Message: msg, Data: data}); err != nil {
		e.Logger.Error("record event", "app", r.App, "rollout", r.ID, "err", err)
	}
	e.Logger.Info(msg, "app", r.App, "rollout", r.ID, "kind", kind)
}

// transition records a state change of r, with its event, then updates r.
func (e *Engine) transition(r *store.Rollout, to store.RolloutState, reason string) error {
	return e.transitionNote(r, to, reason, "")
}

// transitionNote is transition with a note added to the state event.
func (e *Engine) transitionNote(r *store.Rollout, to store.RolloutState, reason, note string) error {
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
	e.notify(r, was, to, reason)
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
func (e *Engine) record(r *store.Rollout, to store.RolloutState, reason string) {
	if err := e.transition(r, to, reason); err != nil {
		e.unrecorded(r, to, reason, err)
	}
}

// unrecorded logs and lists a state of r the store did not take.
func (e *Engine) unrecorded(r *store.Rollout, to store.RolloutState, reason string, err error) {
	e.Logger.Error("record rollout state", "app", r.App, "rollout", r.ID, "to", to, "reason", reason, "err", err)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.problems[r.ID] = Problem{Rollout: r.ID, App: r.App, Time: e.Now(),
		What: fmt.Sprintf("could not record its state %s (%s): %v; it is left %s, for the next start of nonstop to resume", to, reason, err, r.State)}
}

// logFailed logs a store write that failed where nothing can be undone:
// what it was for, and for which rollout.
func (e *Engine) logFailed(r *store.Rollout, what string, err error) {
	if err != nil {
		e.Logger.Error(what, "app", r.App, "rollout", r.ID, "err", err)
	}
}

// errStopped marks work cut short because nonstop itself is stopping: the
// rollout stays where it is, to be resumed at the next start.
var errStopped = fleet.ErrStopped

func (e *Engine) stopping(ctx context.Context) bool {
	return e.ctx.Err() != nil && ctx.Err() != nil
}

// Abort stops a rollout in progress: a build is killed (nothing changed),
// a rollout under way rolls back. It reports whether the rollout was
// running here.
func (e *Engine) Abort(id int64, why string) bool {
	e.mu.Lock()
	cancel, ok := e.running[id]
	if ok {
		e.aborted[id] = why
	}
	e.mu.Unlock()
	if ok {
		cancel()
	}
	return ok
}

// abortedWhy returns why rollout id was aborted, or "".
func (e *Engine) abortedWhy(id int64) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.aborted[id]
}

// notify tells the Notifier about a transition worth telling: a rollout
// started, paused, resumed, failed, rolled back or succeeded.
func (e *Engine) notify(r *store.Rollout, was, to store.RolloutState, reason string) {
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
func (e *Engine) notifyStep(r *store.Rollout, step int) {
	if e.Notifier != nil {
		e.Notifier.Notify(notify.Event{Kind: notify.KindStepPassed, App: r.App, Rollout: r.ID, Release: r.ToRelease,
			From: r.FromRelease, Strategy: r.Strategy, Step: step})
	}
}

// Hosts returns the host names an app is served at.
func (e *Engine) Hosts(app *store.App) []string { return e.routes.hosts(app) }
