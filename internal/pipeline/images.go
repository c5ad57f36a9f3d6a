package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// ImageBuilder builds container images and pins prebuilt ones; package
// internal/build/image does it with the Docker Engine and a registry.
type ImageBuilder interface {
	// BuildImage builds the source in Dir, pushes it when a registry is
	// set, and returns the reference to run: pinned by digest when pushed.
	BuildImage(ctx context.Context, b ImageBuild) (ref string, err error)
	// ResolveImage pulls ref and returns it pinned by digest.
	ResolveImage(ctx context.Context, ref string) (pinned string, err error)
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

// SubmitImage rolls out a prebuilt image (`nonstop deploy --image REF`)
// with the given spec: no build, the image pinned by digest first (through
// Images: the Docker Engine and the registry), in the background. The rollout is returned as created; store.ErrConflict while
// the app has one in progress.
func (p *Pipeline) SubmitImage(ctx context.Context, app *store.App, ref string, sp *spec.Spec, by string) (*store.Rollout, error) {
	if sp.Runtime != spec.RuntimeKubernetes {
		if p.Images == nil {
			return nil, fmt.Errorf("deploy --image: %w: this server has no Docker Engine", rollout.ErrUnsupported)
		}
		sp.Runtime = spec.RuntimeDocker
	}
	if sp.Runtime == spec.RuntimeKubernetes && p.Images == nil && !isPinned(ref) {
		return nil, fmt.Errorf("deploy --image %s: %w: pin it by digest (REF@sha256:...): this server has no Docker Engine to look tags up with", ref, rollout.ErrInvalid)
	}
	if err := p.Engine.Admit(ctx, app, sp); err != nil {
		return nil, err
	}
	ro, err := p.Engine.Begin(ctx, app, sp, by)
	if err != nil {
		return nil, err
	}
	p.launch(p.ctx, &job{src: Source{App: app, Spec: sp, By: by}, rollout: ro, image: ref})
	return ro, nil
}

// resolve pins j's image by digest. A digest a cluster pulls needs no
// look-up; anything else is pinned through the Engine (and the registry).
func (p *Pipeline) resolve(ctx context.Context, j *job) (string, error) {
	p.event(j.rollout, "log", "resolving image "+j.image)
	if j.src.Spec.Runtime == spec.RuntimeKubernetes && isPinned(j.image) {
		return j.image, nil
	}
	return p.Images.ResolveImage(ctx, j.image)
}

// isPinned reports whether an image reference names its digest.
func isPinned(ref string) bool { return strings.Contains(ref, "@sha256:") }
