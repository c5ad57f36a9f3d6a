package kube

import (
	"context"
	"errors"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// tidy leaves the app as it is between rollouts: every client on the
// stable set, no release set left.
func (f *Fleet) tidy(ctx context.Context, op fleet.Op, app *store.App, sp *spec.Spec) error {
	if err := f.shift(ctx, op, app, sp, 0, 0); err != nil {
		return err
	}
	sets, err := f.Cluster.Sets(ctx, app.Name, sp)
	if err != nil {
		return err
	}
	for _, v := range sets {
		if err := f.Cluster.DeleteSet(ctx, app.Name, sp, v); err != nil {
			return err
		}
	}
	return nil
}

// RollBack returns an app on Kubernetes to from: every client back on the
// stable set at once, the stable Deployment rolled back to the from
// release (when the failed rollout had moved it), the failed release's set
// deleted.
func (f *Fleet) RollBack(ctx context.Context, op fleet.Op, from, failed *fleet.Goal, _ bool) error {
	var sp *spec.Spec
	if failed != nil {
		sp = failed.Spec()
	}
	if from.Release != nil {
		sp = from.Spec()
	}
	if sp == nil {
		return nil // nothing was ever applied
	}
	app := from.App
	if from.Release == nil {
		// The first deploy failed. Only what it made is undone: if even
		// its Deployment is not there (refused: a namespace or an object
		// that is not nonstop's), nothing is written.
		p, err := f.Cluster.Progress(ctx, kubernetes.Namespace(app.Name, sp), kubernetes.StableName(app.Name))
		if err != nil {
			return err
		}
		if !p.Found {
			return nil
		}
	}
	// Every client back on the stable set at once, on the paths of both
	// releases (the failed one may have brought a Gateway the other had not).
	paths := []*spec.Spec{sp}
	if failed != nil && failed.Spec() != sp {
		paths = append(paths, failed.Spec())
	}
	for _, s := range paths {
		if err := f.shift(ctx, op, app, s, 0, 0); err != nil && !errors.Is(err, fleet.ErrInvalid) {
			return err
		}
	}
	if from.Release == nil {
		// The first deploy failed: no pods serve (the Service stays).
		if _, err := f.Cluster.ApplyDeployment(ctx, workload(failed, 0, 0)); err != nil {
			return err
		}
	} else if err := f.roll(ctx, op, from, from.N); err != nil {
		return err
	}
	if err := f.tidy(ctx, op, app, sp); err != nil {
		return err
	}
	if r := op.Rollout(); r.FromRelease > 0 && app.LiveRelease != r.FromRelease {
		// Interrupted after it was recorded live: the record follows the cluster back.
		return f.Store.MakeLive(ctx, app.ID, r.FromRelease)
	}
	return nil
}

// Stop scales the app's stable Deployment to no pods.
func (f *Fleet) Stop(ctx context.Context, op fleet.Op, g *fleet.Goal) (string, error) {
	if g.Release != nil {
		if err := f.tidy(ctx, op, g.App, g.Spec()); err != nil {
			return "", err
		}
		if err := f.roll(ctx, op, g, 0); err != nil {
			return "", err
		}
	}
	if !f.PodNetwork {
		return "stopped: the Deployment runs no pods", nil
	}
	return "stopped; the maintenance page is served", nil
}

// Replace is the local fleet's: Kubernetes replaces its own sick pods.
func (f *Fleet) Replace(context.Context, fleet.Op, *fleet.Goal, string) error {
	return fmt.Errorf("replace a sick pod: %w: Kubernetes replaces the pods its probes fail", fleet.ErrUnsupported)
}

// Recover: the cluster outlives nonstop; Drifted compares each app.
func (f *Fleet) Recover(context.Context, []*store.App) error { return nil }

// Drifted compares an app's objects in the cluster with its live release
// (a Deployment deleted or changed behind nonstop's back, a release set
// left over).
func (f *Fleet) Drifted(ctx context.Context, app *store.App, live *store.Release, n int) (bool, error) {
	if f.Cluster == nil {
		f.Logger.Warn("app runs on kubernetes but this server has no cluster (--kubeconfig): left as it is", "app", app.Name)
		return false, nil
	}
	p, err := f.Cluster.Progress(ctx, kubernetes.Namespace(app.Name, &live.Spec), kubernetes.StableName(app.Name))
	if err != nil {
		return false, err
	}
	sets, err := f.Cluster.Sets(ctx, app.Name, &live.Spec)
	if err != nil {
		return false, err
	}
	if p.Found && p.Release == live.Version && int(p.Wanted) == n && len(sets) == 0 {
		return false, nil
	}
	f.Logger.Warn("the cluster differs from the live release: rolling it out again", "app", app.Name,
		"live", live.Version, "deployment_release", p.Release, "pods", p.Wanted, "want", n, "release_sets", sets)
	return true, nil
}

// Delete removes a deleted app's objects from the cluster, in the
// namespaces of every release it had (a release can move it).
func (f *Fleet) Delete(ctx context.Context, app *store.App) error {
	rels, err := f.Store.Releases(ctx, app.ID)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, rel := range rels {
		ns := kubernetes.Namespace(app.Name, &rel.Spec)
		if !f.Runs(&rel.Spec) || done[ns] {
			continue
		}
		if f.Cluster == nil {
			return fmt.Errorf("app %s runs on kubernetes and this server has no cluster (--kubeconfig): %w", app.Name, fleet.ErrUnsupported)
		}
		if err := f.Cluster.DeleteApp(ctx, app.Name, &rel.Spec); err != nil {
			return err
		}
		done[ns] = true
	}
	return nil
}

// Prune removes the env Secrets of an app's dropped releases.
func (f *Fleet) Prune(ctx context.Context, app *store.App, dropped []int, _ []string) {
	if f.Cluster == nil || len(dropped) == 0 {
		return
	}
	sp, err := f.specOf(ctx, app)
	if sp == nil || err != nil {
		return
	}
	if err := f.Cluster.DeleteEnv(ctx, app.Name, sp, dropped); err != nil {
		f.Logger.Warn("remove old env secrets", "app", app.Name, "err", err)
	}
}
