// Package pipeline turns every way code comes in (git push, a forge
// webhook, polling a repository, an upload, the CLI, a prebuilt image) into
// releases, and hands them to the rollout engine. It owns builds: their
// folders, their slots and labels, image builds and cluster builds. Each
// source but an image is a numbered run of one pipeline: fetch → build →
// push → deploy → verify, whose stages it records as it runs them. A run is
// recorded before it acts; one run per app goes at a time, and a newer
// commit supersedes a run still queued.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/sysuser"
)

// Config wires a Pipeline.
type Config struct {
	Store  *store.Store
	Engine *rollout.Engine
	Logger *slog.Logger
	// DataDir holds builds (DATA/apps/APP/builds/N) and fetched sources
	// (DATA/tmp).
	DataDir string
	// Tick is how often polled repositories are looked at (default 1s).
	Tick time.Duration
	// Images builds container images and pins prebuilt ones; nil: none
	// are here (no Docker Engine).
	Images ImageBuilder
	// Registry is where Images pushes what it builds ("": nowhere, the
	// images stay on this Engine, which a cluster cannot pull from).
	Registry string
	// BuildWorkers is how many builds run at once, all apps together
	// (default 2); more wait their turn, their rollouts in state building.
	BuildWorkers int
	// BuildLabels are what this server's build workers offer; an app's
	// build_labels must all be among them.
	BuildLabels []string
	// ClusterBuilds, when set, builds kubernetes apps' images as Jobs on
	// the cluster.
	ClusterBuilds *ClusterBuilds
	// Accounts, when set, runs each app's builds as its own system
	// account, in a source folder only that account may enter.
	Accounts *sysuser.Accounts
	// BuildEnv is added to every build's environment (a module proxy, a
	// package mirror, a shared cache), under the app's own env.
	BuildEnv map[string]string
	// ProcessNeedsAdmin refuses process-runtime deploys that no admin
	// submitted: this server cannot isolate them (it is not root).
	ProcessNeedsAdmin bool
}

// Pipeline runs and tracks the pipeline runs of every app.
type Pipeline struct {
	Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu           sync.Mutex
	cancels      map[int64]context.CancelCauseFunc // run id → cancels its fetch and build
	lastSeen     map[int64]string                  // app id → the last commit polling saw
	polled       map[int64]time.Time               // app id → when it was last polled
	buildSources map[string]buildSource            // "APP#N" → a running cluster build's source and token

	slots   chan struct{}                     // one token per build running: the workers' limit
	handoff sync.Mutex                        // held while a build ends or is aborted
	builds  map[int64]context.CancelCauseFunc // rollout id → kills the build (or image look-up) made for it
}

// New starts a Pipeline: it resumes runs left unfinished by a restart and
// looks at queued runs and polled repositories every tick. Close stops it.
func New(cfg Config) *Pipeline {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.BuildWorkers <= 0 {
		cfg.BuildWorkers = 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{Config: cfg, ctx: ctx, cancel: cancel, cancels: map[int64]context.CancelCauseFunc{},
		lastSeen: map[int64]string{}, polled: map[int64]time.Time{}, buildSources: map[string]buildSource{},
		slots: make(chan struct{}, cfg.BuildWorkers), builds: map[int64]context.CancelCauseFunc{}}
	p.resume()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.loop()
	}()
	return p
}

// Close stops the pipeline's goroutines; runs in flight stay recorded and
// are resumed by the next New. Builds are killed: their rollouts fail.
func (p *Pipeline) Close() {
	p.cancel()
	p.wg.Wait()
}

// Request is a run to make from a repository's commit.
type Request struct {
	App       *store.App
	Trigger   string // webhook, poll
	Repo      string // where to fetch from
	Ref       string // e.g. refs/heads/main
	Commit    string // the commit to deploy; "" for the head of Ref
	StartedBy string
}

// Enqueue records a queued run, superseding older queued runs of the app,
// and starts it as soon as the app is free.
func (p *Pipeline) Enqueue(ctx context.Context, req Request) (*store.Run, error) {
	if req.Repo == "" {
		return nil, fmt.Errorf("app %s has no repository to fetch from (nonstop apps set %s --repo URL): %w", req.App.Name, req.App.Name, rollout.ErrInvalid)
	}
	run, err := p.Store.CreateRun(ctx, store.Run{AppID: req.App.ID, Trigger: req.Trigger, Commit: req.Commit, Ref: req.Ref, Repo: req.Repo, StartedBy: req.StartedBy})
	if err != nil {
		return nil, err
	}
	p.kick(req.App.ID)
	return run, nil
}

// Cancel cancels a queued run, or stops a running one: its fetch, its
// build, or its rollout, which then rolls back.
func (p *Pipeline) Cancel(ctx context.Context, app *store.App, number int, by string) (*store.Run, error) {
	run, err := p.Store.Run(ctx, app.ID, number)
	if err != nil {
		return nil, err
	}
	why := "cancelled by " + by
	switch {
	case run.State.Terminal():
		return nil, fmt.Errorf("run #%d is already %s: %w", number, run.State, rollout.ErrInvalid)
	case run.State == store.RunQueued:
		p.finish(ctx, run.ID, store.RunCancelled, why)
	case run.RolloutID != 0:
		p.Abort(run.RolloutID, why)
		p.finish(ctx, run.ID, store.RunCancelled, why)
	default:
		p.mu.Lock()
		if cancel := p.cancels[run.ID]; cancel != nil {
			cancel(errors.New(why))
		}
		p.mu.Unlock()
		p.finish(ctx, run.ID, store.RunCancelled, why)
	}
	return p.Store.Run(ctx, app.ID, number)
}

// kick starts the app's queued run when nothing of the app is running.
func (p *Pipeline) kick(appID int64) {
	next, err := p.Store.NextQueuedRun(p.ctx, appID)
	if err != nil || next == nil {
		return
	}
	if err := p.Store.StartRun(p.ctx, next.ID); err != nil {
		return // another run goes on; the next tick looks again
	}
	ctx, cancel := context.WithCancelCause(p.ctx)
	p.mu.Lock()
	p.cancels[next.ID] = cancel
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			p.mu.Lock()
			delete(p.cancels, next.ID)
			p.mu.Unlock()
			cancel(nil)
		}()
		p.execute(ctx, next)
	}()
}

// execute fetches a run's commit, builds and deploys it, and follows the
// rollout.
func (p *Pipeline) execute(ctx context.Context, run *store.Run) {
	app, err := p.Store.AppByID(ctx, run.AppID)
	if err != nil {
		p.finish(ctx, run.ID, store.RunFailed, err.Error())
		return
	}
	p.startStage(run, stageFetch, atNow)
	dir, commit, log, err := p.fetch(ctx, run)
	p.logFailed("record fetch", p.Store.FetchedRun(context.WithoutCancel(ctx), run.ID, commit, log))
	if errors.Is(err, errNotNewer) {
		os.RemoveAll(dir)
		p.Logger.Info("webhook push not newer than live", "app", app.Name, "run", run.Number, "commit", commit, "why", err)
		p.endStage(run, stageFetch, store.StageOK, atNow)
		p.finish(ctx, run.ID, store.RunSuperseded, err.Error())
		return
	}
	if err != nil {
		os.RemoveAll(dir)
		p.endStage(run, stageFetch, store.StageFailed, atNow)
		p.finish(ctx, run.ID, store.RunFailed, "fetch: "+err.Error())
		return
	}
	p.endStage(run, stageFetch, store.StageOK, atNow)
	sp, err := spec.Load(dir)
	if err != nil {
		os.RemoveAll(dir)
		p.finish(ctx, run.ID, store.RunFailed, err.Error())
		return
	}
	src := Source{App: app, Dir: dir, Spec: sp, Trigger: run.Trigger, Label: fmt.Sprintf("%s %.12s", run.Trigger, commit), Commit: commit, By: run.StartedBy,
		ByAdmin: p.isAdmin(ctx, run.StartedBy)}
	ro, err := p.acceptWhenFree(ctx, &src)
	var b *store.Build
	if err == nil {
		if b, err = p.stageBuild(ctx, src); err != nil {
			p.Engine.Fail(ro, err.Error())
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		if ctx.Err() == nil { // else it was cancelled (and recorded so), or nonstop stops
			p.finish(ctx, run.ID, store.RunFailed, err.Error())
		}
		return
	}
	p.logFailed("link run to rollout", p.Store.SetRunRollout(ctx, run.ID, ro.ID))
	p.launch(ctx, &job{src: src, rollout: ro, run: run, build: b})
	p.follow(p.ctx, run, ro.ID)
}

// acceptWhenFree accepts src, waiting while another rollout of the app (a
// scale, a rollback) goes on rather than failing.
func (p *Pipeline) acceptWhenFree(ctx context.Context, src *Source) (*store.Rollout, error) {
	// Woken when a rollout of the app is written (the one in the way ends).
	written, stop := p.Store.Watch(func(c store.Change) bool { return c.App == src.App.ID && c.Rollout != 0 })
	defer stop()
	for {
		app, err := p.Store.AppByID(ctx, src.App.ID)
		if err != nil {
			return nil, err
		}
		src.App = app
		ro, err := p.accept(ctx, *src)
		if !errors.Is(err, store.ErrConflict) {
			return ro, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-written:
		}
	}
}

// resume picks up the runs a restart left: running ones with a rollout are
// followed again, running ones without have failed; builds left running
// have failed (their rollouts fail as the engine recovers).
func (p *Pipeline) resume() {
	if err := p.Store.FailRunningBuilds(p.ctx, "interrupted by a restart of nonstop"); err != nil {
		p.Logger.Error("record interrupted builds", "err", err)
	}
	runs, err := p.Store.UnfinishedRuns(p.ctx)
	if err != nil {
		p.Logger.Error("resume runs", "err", err)
		return
	}
	for _, run := range runs {
		switch {
		case run.State == store.RunRunning && run.RolloutID != 0:
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.follow(p.ctx, run, run.RolloutID)
			}()
		case run.State == store.RunRunning:
			p.finish(p.ctx, run.ID, store.RunFailed, "interrupted by a restart of nonstop before its deploy started")
		}
	}
}

// loop starts queued runs when a run was written (one ended, or came) and
// polls repositories every tick.
func (p *Pipeline) loop() {
	runs, stop := p.Store.Watch(func(c store.Change) bool { return c.Run != 0 })
	defer stop()
	t := time.NewTicker(p.Tick)
	defer t.Stop()
	p.kickAll() // runs queued before a restart
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-runs:
			p.kickAll()
		case <-t.C:
			apps, err := p.Store.Apps(p.ctx)
			if err != nil {
				p.Logger.Warn("poll repositories", "err", err)
				continue
			}
			for _, app := range apps {
				p.poll(app)
			}
		}
	}
}

// kickAll starts the queued run of every app that has one and is free.
func (p *Pipeline) kickAll() {
	apps, err := p.Store.Apps(p.ctx)
	if err != nil {
		p.Logger.Warn("start queued runs", "err", err)
		return
	}
	for _, app := range apps {
		p.kick(app.ID)
	}
}

// finish records how a run ended; the write failing is logged, as nothing
// else can be done about it (the run stays open and is resumed).
func (p *Pipeline) finish(ctx context.Context, id int64, state store.RunState, reason string) {
	p.logFailed("record the end of run "+fmt.Sprint(id), p.Store.FinishRun(context.WithoutCancel(ctx), id, state, reason))
}

// logFailed logs a store write that failed where nothing can be undone.
func (p *Pipeline) logFailed(what string, err error) {
	if err != nil {
		p.Logger.Error(what, "err", err)
	}
}

func (p *Pipeline) scratch(run *store.Run) (string, error) {
	base := filepath.Join(p.DataDir, "tmp")
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(base, fmt.Sprintf("run-%s-%d-", run.App, run.Number))
}

// isAdmin says whether name is an admin's (a run a person started; a
// webhook's or a poll's is no one's).
func (p *Pipeline) isAdmin(ctx context.Context, name string) bool {
	u, err := p.Store.UserByName(ctx, name)
	return err == nil && u.Role == store.RoleAdmin
}
