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
	// DataDir holds the apps' folders (DATA/apps/APP: builds and the
	// release folders in them), which prune and Delete tidy.
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

// errStopped marks work cut short because nonstop itself is stopping: the
// rollout stays where it is, to be resumed at the next start.
var errStopped = fleet.ErrStopped

func (e *Engine) stopping(ctx context.Context) bool {
	return e.ctx.Err() != nil && ctx.Err() != nil
}

// Abort stops a rollout in progress here: it rolls back. It reports
// whether the rollout was running here. (A rollout still building is the
// pipeline's to abort: Pipeline.Abort kills its build.)
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

// Hosts returns the host names an app is served at.
func (e *Engine) Hosts(app *store.App) []string { return e.routes.hosts(app) }
