package rollout

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/nonstopdev/nonstop/internal/build"
	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// ErrUnsupported is a request this version of nonstop cannot carry out.
var ErrUnsupported = fleet.ErrUnsupported

// DeployRequest is a source to build and roll out.
type DeployRequest struct {
	App *store.App
	// Dir holds the extracted source; the engine takes it over (moves it).
	Dir string
	// Spec is the source's parsed nonstop.yaml.
	Spec *spec.Spec
	// Source describes where it came from ("upload", "git abc123").
	Source string
	// GitSHA is the source's commit, when known: images get it as a tag.
	GitSHA    string
	CreatedBy string
}

// Deploy records a deploy rollout and runs it in the background: build,
// release, rolling replacement. The returned rollout can be watched.
func (e *Engine) Deploy(ctx context.Context, req DeployRequest) (*store.Rollout, error) {
	if err := e.fleets.admit(ctx, req.App, req.Spec); err != nil {
		return nil, err
	}
	if err := e.canBuild(req.Spec); err != nil {
		return nil, err
	}
	r, err := e.Store.CreateRollout(ctx, store.Rollout{
		AppID: req.App.ID, Kind: store.KindDeploy, FromRelease: req.App.LiveRelease,
		Strategy: string(req.Spec.Deploy.Strategy), CreatedBy: req.CreatedBy,
	})
	if err != nil {
		return nil, err
	}
	b, err := e.stageBuild(ctx, req)
	if err != nil {
		e.record(r, store.RolloutFailed, err.Error())
		return nil, err
	}
	return e.run(r, func(ctx context.Context) { e.runDeploy(ctx, r, req, b) }), nil
}

// stageBuild numbers the build and moves its source to DATA/apps/APP/builds/N/src.
func (e *Engine) stageBuild(ctx context.Context, req DeployRequest) (*store.Build, error) {
	n, err := e.Store.NextBuildNumber(ctx, req.App.ID)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.DataDir, "apps", req.App.Name, "builds", strconv.Itoa(n))
	os.RemoveAll(dir) // a leftover of a build whose record was never written
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stage build #%d: %w", n, err)
	}
	src := filepath.Join(dir, "src")
	if err := os.Rename(req.Dir, src); err != nil {
		return nil, fmt.Errorf("stage build #%d: %w", n, err)
	}
	return e.Store.CreateBuild(ctx, req.App.ID, n, req.Source, src)
}

func (e *Engine) runDeploy(ctx context.Context, r *store.Rollout, req DeployRequest, b *store.Build) {
	if err := e.transition(r, store.RolloutBuilding, ""); err != nil {
		e.Logger.Error("record building", "rollout", r.ID, "err", err)
		return
	}
	env := releaseEnv(req.Spec, req.App.Env)
	image, err := e.withBuildSlot(ctx, r, func() (string, error) {
		return e.build(ctx, r, b, req.App.Name, req.GitSHA, req.Spec, env)
	})
	if why := e.abortedWhy(r.ID); why != "" && err != nil {
		err = errors.New(why)
	}
	if err != nil {
		e.logFailed(r, "record failed build", e.Store.FinishBuild(context.WithoutCancel(ctx), b.ID, store.BuildFailed, err.Error()))
		e.record(r, store.RolloutFailed, fmt.Sprintf("build #%d failed: %v", b.Number, err))
		return
	}
	rel, err := e.Store.CreateImageRelease(ctx, req.App.ID, b.Number, b.Dir, image, *req.Spec, env, fmt.Sprintf("build #%d (%s)", b.Number, req.Source))
	if err == nil {
		err = e.Store.FinishBuild(ctx, b.ID, store.BuildSucceeded, "")
	}
	if err == nil {
		err = e.Store.SetRolloutTarget(ctx, r.ID, rel.Version, desired(req.App, rel))
	}
	if err != nil {
		e.record(r, store.RolloutFailed, err.Error())
		return
	}
	r.ToRelease, r.Instances = rel.Version, desired(req.App, rel)
	e.event(r, "release", fmt.Sprintf("release v%d created from build #%d", rel.Version, b.Number), map[string]any{"version": rel.Version})
	e.runToTarget(ctx, r)
}

// build runs the spec's build command in the build's folder and, for the
// docker runtime, builds the image from the Dockerfile. The output goes to
// build.log and to the rollout's events, line by line. It returns the image
// the release runs ("" for the process runtime).
func (e *Engine) build(ctx context.Context, r *store.Rollout, b *store.Build, app, gitSHA string, sp *spec.Spec, env map[string]string) (string, error) {
	logFile, err := os.OpenFile(filepath.Join(filepath.Dir(b.Dir), "build.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("open build log: %w", err)
	}
	defer logFile.Close()
	lines := e.lineWriter(r)
	defer lines.Close()
	out := io.MultiWriter(logFile, lines)
	switch {
	case sp.Build != "":
		fmt.Fprintf(out, "build #%d: %s\n", b.Number, sp.Build)
		if err := build.Command(ctx, b.Dir, sp.Build, env, out); err != nil {
			return "", err
		}
	case sp.Runtime == spec.RuntimeProcess:
		fmt.Fprintf(out, "build #%d: no build command; the source runs as it is\n", b.Number)
	}
	if sp.Runtime == spec.RuntimeProcess {
		return "", nil
	}
	if sp.Runtime == spec.RuntimeKubernetes && e.ClusterBuilds != nil {
		ref, err := e.clusterBuild(ctx, r, b, app, sp, out)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(out, "image %s\n", ref)
		return ref, nil
	}
	if e.Images == nil {
		return "", fmt.Errorf("runtime %s: an image must be built from the Dockerfile, and this server has neither Docker Engine nor cluster builds (--kube-builds): %w", sp.Runtime, ErrUnsupported)
	}
	fmt.Fprintf(out, "build #%d: image from the Dockerfile\n", b.Number)
	ref, err := e.Images.BuildImage(ctx, ImageBuild{App: app, Number: b.Number, Dir: b.Dir, GitSHA: gitSHA, Log: out,
		Pushing: func() { e.event(r, "stage", "push", map[string]any{"stage": "push"}) }})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(out, "image %s\n", ref)
	return ref, nil
}

// lineWriter turns what is written to it into "log" events of r, one per
// line; Close flushes the last line and waits for it.
func (e *Engine) lineWriter(r *store.Rollout) io.WriteCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			e.event(r, "log", sc.Text(), nil)
		}
		io.Copy(io.Discard, pr)
	}()
	return &lineWriter{pw: pw, done: done}
}

type lineWriter struct {
	pw   *io.PipeWriter
	done chan struct{}
	once sync.Once
}

func (w *lineWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *lineWriter) Close() error {
	w.once.Do(func() {
		w.pw.Close()
		<-w.done
	})
	return nil
}

// releaseEnv is the spec's env overridden by the app's own (`nonstop env set`).
func releaseEnv(sp *spec.Spec, appEnv map[string]string) map[string]string {
	env := map[string]string{}
	maps.Copy(env, sp.Env)
	maps.Copy(env, appEnv)
	return env
}

// withBuildSlot runs build when one of the engine's build workers is free,
// so that builds never take more than their share of the machine.
func (e *Engine) withBuildSlot(ctx context.Context, r *store.Rollout, build func() (string, error)) (string, error) {
	select {
	case e.buildSlots <- struct{}{}:
	default:
		e.event(r, "log", fmt.Sprintf("waiting for a build worker (%d builds are running)", cap(e.buildSlots)), nil)
		select {
		case e.buildSlots <- struct{}{}:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	defer func() { <-e.buildSlots }()
	return build()
}

// canBuild checks that this server's build workers have every label the
// app's build asks for.
func (e *Engine) canBuild(sp *spec.Spec) error {
	if sp.Runtime == spec.RuntimeKubernetes && e.ClusterBuilds != nil {
		return nil // build labels select the cluster's build nodes
	}
	if sp.Runtime == spec.RuntimeKubernetes && e.Registry == "" {
		return fmt.Errorf("runtime kubernetes: the image built here must be pushed where the cluster pulls it: start nonstop with --registry (or --kube-builds): %w", ErrUnsupported)
	}
	for _, want := range sp.BuildLabels {
		if !slices.Contains(e.BuildLabels, want) {
			return fmt.Errorf("build_labels: no build worker here has the label %q (this server's have %v; see nonstop server --build-labels): %w", want, e.BuildLabels, ErrInvalid)
		}
	}
	return nil
}
