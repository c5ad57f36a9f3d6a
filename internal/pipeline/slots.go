package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// withBuildSlot runs build when one of the pipeline's build workers is
// free, so that builds never take more than their share of the machine.
// A build that waits says so in r's history.
func (p *Pipeline) withBuildSlot(ctx context.Context, r *store.Rollout, build func() (string, error)) (string, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		p.event(r, "log", fmt.Sprintf("waiting for a build worker (%d builds are running)", cap(p.slots)))
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	defer func() { <-p.slots }()
	return build()
}

// canBuild checks that this server's build workers have every label the
// app's build asks for, and that an image built here can reach a cluster
// that runs it.
func (p *Pipeline) canBuild(sp *spec.Spec) error {
	if sp.Runtime == spec.RuntimeKubernetes && p.ClusterBuilds != nil {
		return nil // build labels select the cluster's build nodes
	}
	if sp.Runtime == spec.RuntimeKubernetes && p.Registry == "" {
		return fmt.Errorf("runtime kubernetes: the image built here must be pushed where the cluster pulls it: start nonstop with --registry (or --kube-builds): %w", rollout.ErrUnsupported)
	}
	for _, want := range sp.BuildLabels {
		if !slices.Contains(p.BuildLabels, want) {
			return fmt.Errorf("build_labels: no build worker here has the label %q (this server's have %v; see nonstop server --build-labels): %w", want, p.BuildLabels, rollout.ErrInvalid)
		}
	}
	return nil
}
