package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// ErrForbidden refuses a deploy its submitter may not make.
var ErrForbidden = errors.New("forbidden")

// Source is code to build and roll out: an upload, a CLI deploy, a git
// push, or the commit a run fetched.
type Source struct {
	App *store.App
	// Dir holds the extracted source. The pipeline takes it over (moves
	// it) once the deploy is accepted; a refused one leaves it where it is.
	Dir string
	// Spec is the source's parsed nonstop.yaml.
	Spec *spec.Spec
	// Trigger names what started its run: upload, cli, push, demo (and a
	// run's own: webhook, poll).
	Trigger string
	// Label says where the source came from, in its build's record
	// ("upload", "push abc123").
	Label string
	// Commit is the source's git commit, when known: images get it as a tag.
	Commit string
	By     string
	// ByAdmin says an admin submitted it (ProcessNeedsAdmin).
	ByAdmin bool
}

// Submit deploys a source that came with its request (an upload, the CLI,
// a git push): it checks that this server can build and run it, begins its
// rollout (store.ErrConflict while the app has one in progress: nothing is
// recorded then), takes the source over as a numbered build, records its
// run, and builds, releases and rolls it out in the background. The
// rollout is returned as created. The run is nil when it could not be
// recorded (another run of the app is running): the deploy goes on.
func (p *Pipeline) Submit(ctx context.Context, src Source) (*store.Rollout, *store.Run, error) {
	ro, err := p.accept(ctx, src)
	if err != nil {
		return nil, nil, err
	}
	b, err := p.stageBuild(ctx, src)
	if err != nil {
		p.Engine.Fail(ro, err.Error())
		return nil, nil, err
	}
	run, err := p.recordRun(ctx, src, ro)
	if err != nil {
		p.Logger.Warn("record the deploy's run", "app", src.App.Name, "err", err)
	}
	p.launch(p.ctx, &job{src: src, rollout: ro, run: run, build: b})
	if run != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.follow(p.ctx, run, ro.ID)
		}()
	}
	return ro, run, nil
}

// accept checks that src can be built and run here and begins its rollout.
func (p *Pipeline) accept(ctx context.Context, src Source) (*store.Rollout, error) {
	if err := p.Engine.Admit(ctx, src.App, src.Spec); err != nil {
		return nil, err
	}
	if err := p.canBuild(src.Spec); err != nil {
		return nil, err
	}
	if p.ProcessNeedsAdmin && src.Spec.Runtime == spec.RuntimeProcess && !src.ByAdmin {
		return nil, fmt.Errorf("runtime process: this server does not run as root, so it cannot give apps accounts of their own, and an app would run as nonstop itself: only an admin may deploy process-runtime apps here (or use runtime: docker): %w", ErrForbidden)
	}
	return p.Engine.Begin(ctx, src.App, src.Spec, src.By)
}

// recordRun records the run of a source that came with its request:
// running at once (never queued, so the queue never takes it for a run to
// fetch), its fetch over, linked to its rollout.
func (p *Pipeline) recordRun(ctx context.Context, src Source, ro *store.Rollout) (*store.Run, error) {
	run, err := p.Store.CreateStartedRun(ctx, store.Run{AppID: src.App.ID, Trigger: src.Trigger, Commit: src.Commit, StartedBy: src.By,
		RolloutID: ro.ID, FetchLog: "source uploaded by " + src.By})
	if err != nil {
		return nil, err
	}
	p.startStage(run, stageFetch, run.StartedAt)
	p.endStage(run, stageFetch, store.StageOK, run.FetchedAt)
	return run, nil
}

// job is one rollout the pipeline makes a release for: from a build of a
// source, or from a prebuilt image it pins.
type job struct {
	src     Source
	rollout *store.Rollout
	run     *store.Run   // nil: none was recorded
	build   *store.Build // nil: a prebuilt image
	image   string       // the prebuilt image, as given
	env     map[string]string
	pushed  bool // the push of the built image began
}

// launch makes j's release in the background (a build, within a build
// slot, or an image look-up) and hands it to the engine. It can be aborted
// (Abort) and it ends with parent.
func (p *Pipeline) launch(parent context.Context, j *job) {
	ctx, cancel := context.WithCancelCause(parent)
	p.handoff.Lock()
	p.builds[j.rollout.ID] = cancel
	p.handoff.Unlock()
	j.env = rollout.ReleaseEnv(j.src.Spec, j.src.App.Env)
	if j.build != nil {
		p.startStage(j.run, stageBuild, atNow)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer cancel(nil)
		var artifact string
		var err error
		if j.build != nil {
			artifact, err = p.withBuildSlot(ctx, j.rollout, func() (string, error) { return p.build(ctx, j, j.env) })
		} else {
			artifact, err = p.resolve(ctx, j)
		}
		p.handOff(ctx, j, artifact, err)
	}()
}

// pushing records that j's image is built and its push begins.
func (j *job) pushing(p *Pipeline) {
	p.endStage(j.run, stageBuild, store.StageOK, atNow)
	p.startStage(j.run, stagePush, atNow)
	j.pushed = true
}

// handOff ends the work on j: the release made of artifact goes to the
// engine to roll out, or j's rollout fails with err (or with why it was
// aborted, even when the work had just succeeded).
func (p *Pipeline) handOff(ctx context.Context, j *job, artifact string, err error) {
	p.handoff.Lock()
	defer p.handoff.Unlock()
	delete(p.builds, j.rollout.ID)
	if ctx.Err() != nil {
		err = cancelled(ctx)
	}
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		reason := fmt.Sprintf("image %s: %v", j.image, err)
		if j.build != nil {
			reason = fmt.Sprintf("build #%d failed: %v", j.build.Number, err)
		}
		p.fail(ctx, j, err, reason)
		return
	}
	rel, err := p.release(ctx, j, artifact)
	if err != nil {
		p.fail(ctx, j, err, err.Error())
		return
	}
	p.endStage(j.run, stageBuild, store.StageOK, atNow)
	if j.pushed {
		p.endStage(j.run, stagePush, store.StageOK, atNow)
	}
	if err := p.Engine.RollOut(j.rollout, rel); err != nil {
		p.Logger.Error("roll out", "app", j.src.App.Name, "rollout", j.rollout.ID, "release", rel.Version, "err", err)
	}
}

// release records the release j made: its build's folder, the image it
// runs ("" for the process runtime), its spec and env.
func (p *Pipeline) release(ctx context.Context, j *job, artifact string) (*store.Release, error) {
	app, sp := j.src.App, *j.src.Spec
	if j.build == nil {
		return p.Store.CreateImageRelease(ctx, app.ID, 0, "", artifact, sp, j.env, "image "+j.image)
	}
	b := j.build
	rel, err := p.Store.CreateImageRelease(ctx, app.ID, b.Number, b.Dir, artifact, sp, j.env, fmt.Sprintf("build #%d (%s)", b.Number, j.src.Label))
	if err == nil {
		err = p.Store.FinishBuild(ctx, b.ID, store.BuildSucceeded, "")
	}
	return rel, err
}

// fail records that j made no release: its build failed, its stage too,
// and its rollout, which changed nothing.
func (p *Pipeline) fail(ctx context.Context, j *job, err error, reason string) {
	if j.build != nil {
		p.logFailed("record failed build", p.Store.FinishBuild(ctx, j.build.ID, store.BuildFailed, err.Error()))
	}
	stage := stageBuild
	if j.pushed {
		stage = stagePush
	}
	p.endStage(j.run, stage, store.StageFailed, atNow)
	p.Engine.Fail(j.rollout, reason)
}

// Abort stops rollout id: the build (or image look-up) made for it here is
// killed, and the rollout fails, changing nothing; a rollout under way is
// the engine's to abort: it rolls back. It reports whether the rollout was
// running in this server.
func (p *Pipeline) Abort(id int64, why string) bool {
	p.handoff.Lock()
	defer p.handoff.Unlock()
	if cancel, ok := p.builds[id]; ok {
		cancel(errors.New(why))
		return true
	}
	return p.Engine.Abort(id, why)
}

// errStopping ends the builds of a nonstop that stops.
var errStopping = errors.New("interrupted: nonstop is stopping; deploy again")

// cancelled says why ctx ended: the reason it was aborted or cancelled
// with, else that nonstop is stopping.
func cancelled(ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return errStopping
}
