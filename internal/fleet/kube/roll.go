package kube

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Converge makes the stable Deployment run g's release with g.N pods (one
// recorded step) and waits until Kubernetes has replaced every old pod.
func (f *Fleet) Converge(ctx context.Context, op fleet.Op, g *fleet.Goal) error {
	if op.Rollout().State != store.RolloutShifting {
		if err := op.Step(ctx); err != nil {
			return err
		}
	}
	return f.roll(ctx, op, g, g.N)
}

// roll makes the stable Deployment run g's release with n pods, and waits
// until Kubernetes has replaced every old pod.
func (f *Fleet) roll(ctx context.Context, op fleet.Op, g *fleet.Goal, n int) error {
	w := workload(g, 0, n)
	gen, uid, err := f.Cluster.ApplySet(ctx, w)
	if err != nil {
		return err
	}
	op.Event("step", fmt.Sprintf("deployment %s/%s: v%d, %d pod(s) (generation %d); service %s (uid %s)",
		w.Namespace(), w.Name(), g.Version(), n, gen, w.Name(), uid), map[string]any{"generation": gen, "service_uid": uid})
	return f.watch(ctx, op, w, gen)
}

// startSet starts (or resizes) the goal's release's own set beside the
// stable one, and waits until its pods are ready.
func (f *Fleet) startSet(ctx context.Context, op fleet.Op, g *fleet.Goal, n int) error {
	w := workload(g, g.Version(), n)
	gen, _, err := f.Cluster.ApplySet(ctx, w)
	if err != nil {
		return err
	}
	op.Event("step", fmt.Sprintf("deployment %s/%s: v%d, %d pod(s) beside the stable set", w.Namespace(), w.Name(), g.Version(), n), nil)
	return f.watch(ctx, op, w, gen)
}

// watch follows a Deployment's rollout to its end, and tells the
// rollout's events each time it moves. It fails, naming the pods that are
// not ready and why, when Kubernetes reports ProgressDeadlineExceeded or
// when nothing moved for health.start_timeout: Kubernetes would leave such
// a rollout half done; nonstop then rolls back.
func (f *Fleet) watch(ctx context.Context, op fleet.Op, w kubernetes.Workload, gen int64) error {
	ns, name := w.Namespace(), w.Name()
	timeout := time.Duration(kubernetes.ProgressDeadline(w.Spec)) * time.Second
	var last kubernetes.Progress
	lastMove := f.Clock.Now()
	for {
		p, err := f.Cluster.Progress(ctx, ns, name)
		switch {
		case ctx.Err() != nil:
			return fleet.Cut(ctx, op)
		case err != nil:
			f.Logger.Warn("read deployment", "app", w.App, "err", err) // retried until the deadline
		case !p.Found:
			return fmt.Errorf("deployment %s/%s was deleted during the rollout", ns, name)
		case p.ObservedGeneration >= gen && p.Complete():
			if p != last {
				op.Event("progress", fmt.Sprintf("%s: %s", name, p), nil)
			}
			return nil
		case p.ObservedGeneration >= gen:
			if p.Updated != last.Updated || p.Ready != last.Ready || p.Available != last.Available || p.Replicas != last.Replicas {
				op.Event("progress", fmt.Sprintf("%s: %s", name, p), map[string]any{"updated": p.Updated, "ready": p.Ready, "available": p.Available})
				last, lastMove = p, f.Clock.Now()
			}
			if p.Stalled != "" {
				return f.podsFailed(ctx, w, "Kubernetes reports ProgressDeadlineExceeded ("+p.Stalled+")")
			}
		}
		if f.Clock.Now().Sub(lastMove) > timeout {
			why := fmt.Sprintf("no progress for %s (health.start_timeout + kubernetes.min_ready)", timeout)
			if p.ReplicaFailure != "" {
				why += "; pods could not be created: " + p.ReplicaFailure
			}
			return f.podsFailed(ctx, w, why)
		}
		select {
		case <-ctx.Done():
			return fleet.Cut(ctx, op)
		case <-f.Clock.After(200 * time.Millisecond):
		}
	}
}

// podsFailed is the error of a release whose pods did not become ready.
func (f *Fleet) podsFailed(ctx context.Context, w kubernetes.Workload, why string) error {
	problems, err := f.Cluster.PodProblems(ctx, w.App, &w.Spec, w.Set, w.Release)
	if err != nil {
		problems = []string{err.Error()}
	}
	if len(problems) == 0 {
		problems = []string{"no pod of v" + fmt.Sprint(w.Release) + " reports a problem"}
	}
	return fmt.Errorf("v%d's pods did not become ready: %s; %s", w.Release, why, strings.Join(problems, "; "))
}

// Complete tidies the app into its shape between rollouts (every client
// on the stable set, no release set left) unless the old release stays
// warm in the stable Deployment (keepOld; the fold comes later).
func (f *Fleet) Complete(ctx context.Context, op fleet.Op, g *fleet.Goal, keepOld bool) (string, error) {
	if !keepOld {
		if err := f.tidy(ctx, op, g.App, g.Spec()); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d pod(s): deployment %s/%s", g.N, kubernetes.Namespace(g.App.Name, g.Spec()), kubernetes.StableName(g.App.Name)), nil
}

// Health judges g's release's own set by its pods: none ready, or any
// reporting a problem, is sick.
func (f *Fleet) Health(ctx context.Context, g *fleet.Goal) fleet.Health {
	w := workload(g, g.Version(), 0)
	p, err := f.Cluster.Progress(ctx, w.Namespace(), w.Name())
	if err != nil {
		return fleet.Health{Unknown: err.Error()}
	}
	if !p.Found || p.Ready == 0 {
		return fleet.Health{Sick: fmt.Sprintf("canary deployment %s has no ready pod (%s)", w.Name(), p)}
	}
	problems, err := f.Cluster.PodProblems(ctx, w.App, &w.Spec, w.Set, w.Release)
	if err != nil {
		return fleet.Health{Unknown: err.Error()}
	}
	if len(problems) > 0 {
		return fleet.Health{Sick: "canary pods unhealthy: " + strings.Join(problems, "; ")}
	}
	return fleet.Health{Seen: fmt.Sprintf("%d/%d pods ready", p.Ready, p.Wanted)}
}
