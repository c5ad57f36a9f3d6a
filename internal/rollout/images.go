package rollout

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Images builds, resolves and prunes container images; package
// internal/build/image does it with the Docker Engine and a registry.
type Images interface {
	// BuildImage builds the source in Dir, pushes it when a registry is
	// set, and returns the reference to run: pinned by digest when pushed.
	BuildImage(ctx context.Context, b ImageBuild) (ref string, err error)
	// ResolveImage pulls ref and returns it pinned by digest.
	ResolveImage(ctx context.Context, ref string) (pinned string, err error)
	// PruneImages removes the app's images but the ones in keep.
	PruneImages(ctx context.Context, app string, keep []string) error
}

// ImageBuild is one image build.
type ImageBuild struct {
	App    string
	Number int
	Dir    string
	GitSHA string
	Log    io.Writer
	// Pushing is called when the image is built and its push begins.
	Pushing func()
}

// DeployImage rolls out a prebuilt image (`nonstop deploy --image REF`)
// with the given spec: no build, the image pinned by digest first.
func (e *Engine) DeployImage(ctx context.Context, app *store.App, ref string, sp *spec.Spec, by string) (*store.Rollout, error) {
	if sp.Runtime != spec.RuntimeKubernetes {
		if e.Images == nil {
			return nil, fmt.Errorf("deploy --image: %w: this server has no Docker Engine", ErrUnsupported)
		}
		sp.Runtime = spec.RuntimeDocker
	}
	if sp.Runtime == spec.RuntimeKubernetes && e.Images == nil && !isPinned(ref) {
		return nil, fmt.Errorf("deploy --image %s: %w: pin it by digest (REF@sha256:...): this server has no Docker Engine to look tags up with", ref, ErrInvalid)
	}
	if err := e.fleets.admit(ctx, app, sp); err != nil {
		return nil, err
	}
	r, err := e.Store.CreateRollout(ctx, store.Rollout{
		AppID: app.ID, Kind: store.KindDeploy, FromRelease: app.LiveRelease,
		Strategy: string(sp.Deploy.Strategy), CreatedBy: by,
	})
	if err != nil {
		return nil, err
	}
	return e.run(r, func(ctx context.Context) { e.runDeployImage(ctx, r, app, ref, sp) }), nil
}

func (e *Engine) runDeployImage(ctx context.Context, r *store.Rollout, app *store.App, ref string, sp *spec.Spec) {
	if err := e.transition(r, store.RolloutBuilding, ""); err != nil {
		e.Logger.Error("record building", "rollout", r.ID, "err", err)
		return
	}
	e.event(r, "log", "resolving image "+ref, nil)
	pinned, err := ref, error(nil)
	if !(sp.Runtime == spec.RuntimeKubernetes && isPinned(ref)) {
		// A digest the cluster pulls needs no look-up; anything else is
		// pinned through the Engine (and the registry) first.
		pinned, err = e.Images.ResolveImage(ctx, ref)
	}
	if err != nil {
		e.record(r, store.RolloutFailed, fmt.Sprintf("image %s: %v", ref, err))
		return
	}
	env := releaseEnv(sp, app.Env)
	rel, err := e.Store.CreateImageRelease(ctx, app.ID, 0, "", pinned, *sp, env, "image "+ref)
	if err == nil {
		r.ToRelease, r.Instances = rel.Version, desired(app, rel)
		err = e.Store.SetRolloutTarget(ctx, r.ID, r.ToRelease, r.Instances)
	}
	if err != nil {
		e.record(r, store.RolloutFailed, err.Error())
		return
	}
	e.event(r, "release", fmt.Sprintf("release v%d runs %s", rel.Version, pinned), map[string]any{"version": rel.Version, "image": pinned})
	e.runToTarget(ctx, r)
}

// isPinned reports whether an image reference names its digest.
func isPinned(ref string) bool { return strings.Contains(ref, "@sha256:") }
