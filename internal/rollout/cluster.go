package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

// On the kubernetes runtime, Kubernetes starts and replaces the pods and
// nonstop keeps the strategy and the safety checks. An app has a stable
// Deployment and Service (named after the app: the Service is created by
// the first deploy and never re-created). A rolling deploy updates the
// stable Deployment and watches it; a canary or blue-green deploy starts
// the release's own Deployment and Service (APP-vN) beside it, moves the
// traffic to it (an HTTPRoute's weights, or the Service's selector for a
// blue-green without a Gateway), then folds it into the stable Deployment
// and moves the traffic back. Every action is an idempotent apply, so a
// rollout interrupted by a restart is resumed by doing its step again.

// onCluster reports whether a spec runs on the kubernetes runtime.
func onCluster(sp *spec.Spec) bool { return sp != nil && sp.Runtime == spec.RuntimeKubernetes }

// clusterSupported says why this server cannot roll sp out on Kubernetes.
func (e *Engine) clusterSupported(sp *spec.Spec) error {
	if e.Cluster == nil {
		return fmt.Errorf("runtime kubernetes: %w: this server has no cluster (start it with --kubeconfig, or set KUBECONFIG)", ErrUnsupported)
	}
	if sp.Deploy.Strategy == spec.StrategyCanary && sp.Kubernetes.Gateway == nil && !e.PodNetwork {
		return fmt.Errorf("deploy.strategy canary on kubernetes needs kubernetes.gateway (an HTTPRoute's weights split the traffic) or nonstop's proxy on the pod network (--kube-pod-network): %w", ErrInvalid)
	}
	return nil
}

// isClusterRollout reports whether r moves an app on Kubernetes.
func (e *Engine) isClusterRollout(ctx context.Context, r *store.Rollout) bool {
	for _, v := range []int{r.ToRelease, r.FromRelease} {
		if v > 0 {
			if rel, err := e.Store.Release(ctx, r.AppID, v); err == nil {
				return onCluster(&rel.Spec)
			}
		}
	}
	return false
}

// workload is the goal's release as a pod set: the stable Deployment
// (set 0) or the release's own (set = the release).
func (e *Engine) workload(g *goal, set, replicas int) kubernetes.Workload {
	return kubernetes.Workload{App: g.app.Name, Release: g.version(), Set: set, Image: g.release.Image,
		Env: g.release.Env, Replicas: replicas, Spec: *g.spec()}
}

// clusterForward is forward on Kubernetes: it converges r to its target
// and makes it live.
func (e *Engine) clusterForward(ctx context.Context, r *store.Rollout, g *goal) error {
	sp := g.spec()
	if r.Kind == store.KindStart {
		if err := e.Store.SetAppState(ctx, g.app.ID, store.AppRunning); err != nil {
			return err
		}
	}
	steps := strategy.For(string(sp.Deploy.Strategy))
	progressive := r.Kind == store.KindDeploy && strategy.Progressive(steps) && r.FromRelease > 0
	// A blue-green switch with keep_old_for leaves the old release warm in
	// the stable Deployment: no tidy, the fold comes later.
	keepWarm := progressive && steps.KeepOld(sp) > 0
	// A rollout resumed in verifying has done its work: what is left is
	// the tidy and the record (its steps cannot run again from there).
	if r.State != store.RolloutVerifying {
		var err error
		switch {
		case progressive:
			if err = e.clusterFoldWarm(ctx, r); err == nil {
				err = e.clusterProgressive(ctx, r, g)
			}
		default:
			if r.State != store.RolloutShifting {
				r.Step = 1
				if err := e.transition(r, store.RolloutShifting, ""); err != nil {
					return err
				}
			}
			err = e.clusterRoll(ctx, r, g, g.n)
		}
		if err != nil {
			return err
		}
		if err := e.transition(r, store.RolloutVerifying, ""); err != nil {
			return err
		}
	}
	if !keepWarm {
		if err := e.clusterTidy(ctx, g.app, sp); err != nil {
			return err
		}
	}
	if err := e.Store.MakeLive(ctx, g.app.ID, g.version()); err != nil {
		return err
	}
	if keepWarm {
		// The stable Deployment still runs the old release, out of
		// traffic: a rollback until then is one switch. Then the fold.
		e.retireWarmLater(g.app, g.version(), steps.KeepOld(sp))
	}
	if e.PodNetwork && (r.Kind == store.KindDeploy || r.Kind == store.KindEnv) {
		// The proxy carries the traffic: it measures the bake too.
		defer e.bake(r, g)
	}
	switch r.Kind {
	case store.KindScale:
		if err := e.Store.SetAppInstances(ctx, g.app.ID, g.n); err != nil {
			return err
		}
	case store.KindEnv:
		if err := e.Store.SetAppEnv(ctx, g.app.ID, r.Env); err != nil {
			return err
		}
	}
	return e.transition(r, store.RolloutDone, fmt.Sprintf("v%d live with %d pod(s): deployment %s/%s",
		g.version(), g.n, kubernetes.Namespace(g.app.Name, sp), kubernetes.StableName(g.app.Name)))
}

// clusterRoll makes the stable Deployment run the goal's release with n
// pods, and waits until Kubernetes has replaced every old pod.
func (e *Engine) clusterRoll(ctx context.Context, r *store.Rollout, g *goal, n int) error {
	w := e.workload(g, 0, n)
	gen, uid, err := e.Cluster.ApplySet(ctx, w)
	if err != nil {
		return err
	}
	e.event(r, "step", fmt.Sprintf("deployment %s/%s: v%d, %d pod(s) (generation %d); service %s (uid %s)",
		w.Namespace(), w.Name(), g.version(), n, gen, w.Name(), uid), map[string]any{"generation": gen, "service_uid": uid})
	return e.watchDeployment(ctx, r, w, gen)
}

// watchDeployment follows a Deployment's rollout to its end, and tells the
// rollout's events each time it moves. It fails, naming the pods that are
// not ready and why, when Kubernetes reports ProgressDeadlineExceeded or
// when nothing moved for health.start_timeout: Kubernetes would leave such
// a rollout half done; nonstop then rolls back.
func (e *Engine) watchDeployment(ctx context.Context, r *store.Rollout, w kubernetes.Workload, gen int64) error {
	ns, name := w.Namespace(), w.Name()
	timeout := time.Duration(kubernetes.ProgressDeadline(w.Spec)) * time.Second
	var last kubernetes.Progress
	lastMove := e.Now()
	for {
		p, err := e.Cluster.Progress(ctx, ns, name)
		switch {
		case ctx.Err() != nil:
			return errStopped
		case err != nil:
			e.Logger.Warn("read deployment", "app", w.App, "err", err) // retried until the deadline
		case !p.Found:
			return fmt.Errorf("deployment %s/%s was deleted during the rollout", ns, name)
		case p.ObservedGeneration >= gen && p.Complete():
			if p != last {
				e.event(r, "progress", fmt.Sprintf("%s: %s", name, p), nil)
			}
			return nil
		case p.ObservedGeneration >= gen:
			if p.Updated != last.Updated || p.Ready != last.Ready || p.Available != last.Available || p.Replicas != last.Replicas {
				e.event(r, "progress", fmt.Sprintf("%s: %s", name, p), map[string]any{"updated": p.Updated, "ready": p.Ready, "available": p.Available})
				last, lastMove = p, e.Now()
			}
			if p.Stalled != "" {
				return e.podsFailed(ctx, w, "Kubernetes reports ProgressDeadlineExceeded ("+p.Stalled+")")
			}
		}
		if e.Now().Sub(lastMove) > timeout {
			why := fmt.Sprintf("no progress for %s (health.start_timeout + kubernetes.min_ready)", timeout)
			if p.ReplicaFailure != "" {
				why += "; pods could not be created: " + p.ReplicaFailure
			}
			return e.podsFailed(ctx, w, why)
		}
		select {
		case <-ctx.Done():
			return errStopped
		case <-e.Clock.After(200 * time.Millisecond):
		}
	}
}

// podsFailed is the error of a release whose pods did not become ready.
func (e *Engine) podsFailed(ctx context.Context, w kubernetes.Workload, why string) error {
	problems, err := e.Cluster.PodProblems(ctx, w.App, &w.Spec, w.Set, w.Release)
	if err != nil {
		problems = []string{err.Error()}
	}
	if len(problems) == 0 {
		problems = []string{"no pod of v" + fmt.Sprint(w.Release) + " reports a problem"}
	}
	return fmt.Errorf("v%d's pods did not become ready: %s; %s", w.Release, why, strings.Join(problems, "; "))
}

// startSet starts (or resizes) the goal's release's own set beside the
// stable one, and waits until its pods are ready.
func (e *Engine) startSet(ctx context.Context, r *store.Rollout, g *goal, n int) error {
	w := e.workload(g, g.version(), n)
	gen, _, err := e.Cluster.ApplySet(ctx, w)
	if err != nil {
		return err
	}
	e.event(r, "step", fmt.Sprintf("deployment %s/%s: v%d, %d pod(s) beside the stable set", w.Namespace(), w.Name(), g.version(), n), nil)
	return e.watchDeployment(ctx, r, w, gen)
}

// clusterTidy leaves the app as it is between rollouts: every client on
// the stable set, no release set left.
func (e *Engine) clusterTidy(ctx context.Context, app *store.App, sp *spec.Spec) error {
	if err := e.clusterShift(ctx, app, sp, 0, 0); err != nil {
		return err
	}
	sets, err := e.Cluster.Sets(ctx, app.Name, sp)
	if err != nil {
		return err
	}
	for _, v := range sets {
		if err := e.Cluster.DeleteSet(ctx, app.Name, sp, v); err != nil {
			return err
		}
	}
	return nil
}

// clusterRollBack returns an app on Kubernetes to where r started: every
// client back on the stable set at once, the stable Deployment rolled back
// to the from release (when the failed rollout had moved it), the failed
// release's set deleted.
func (e *Engine) clusterRollBack(ctx context.Context, r *store.Rollout, app *store.App) error {
	var sp, failed *spec.Spec
	if r.ToRelease > 0 {
		if rel, err := e.Store.Release(ctx, app.ID, r.ToRelease); err == nil {
			sp, failed = &rel.Spec, &rel.Spec
		}
	}
	from, err := e.goalOf(ctx, r, r.FromRelease, 0)
	if err != nil {
		return err
	}
	if from.release != nil {
		sp = &from.release.Spec
		from.n = desired(app, from.release)
	}
	if app.State == store.AppStopped {
		from.n = 0
	}
	if sp == nil {
		return nil // nothing was ever applied
	}
	if from.release == nil {
		// The first deploy failed. Only what it made is undone: if even
		// its Deployment is not there (refused: a namespace or an object
		// that is not nonstop's), nothing is written.
		p, err := e.Cluster.Progress(ctx, kubernetes.Namespace(app.Name, sp), kubernetes.StableName(app.Name))
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
	if failed != nil && failed != sp {
		paths = append(paths, failed)
	}
	for _, s := range paths {
		if err := e.clusterShift(ctx, app, s, 0, 0); err != nil && !errors.Is(err, ErrInvalid) {
			return err
		}
	}
	if from.release == nil {
		// The first deploy failed: no pods serve (the Service stays).
		to, err := e.goalOf(ctx, r, r.ToRelease, 0)
		if err != nil {
			return err
		}
		if _, err := e.Cluster.ApplyDeployment(ctx, e.workload(to, 0, 0)); err != nil {
			return err
		}
	} else if err := e.clusterRoll(ctx, r, from, from.n); err != nil {
		return err
	}
	if err := e.clusterTidy(ctx, app, sp); err != nil {
		return err
	}
	if r.FromRelease > 0 && app.LiveRelease != r.FromRelease {
		// Interrupted after it was recorded live: the record follows the cluster back.
		return e.Store.MakeLive(ctx, app.ID, r.FromRelease)
	}
	return nil
}

// clusterHeal compares an app's objects in the cluster with the store's
// live release after a restart, and rolls the live release out again
// when they differ (a Deployment deleted or changed behind nonstop's back,
// a release set left over).
func (e *Engine) clusterHeal(ctx context.Context, app *store.App, live *store.Release) error {
	p, err := e.Cluster.Progress(ctx, kubernetes.Namespace(app.Name, &live.Spec), kubernetes.StableName(app.Name))
	if err != nil {
		return err
	}
	sets, err := e.Cluster.Sets(ctx, app.Name, &live.Spec)
	if err != nil {
		return err
	}
	want := desired(app, live)
	if p.Found && p.Release == live.Version && int(p.Wanted) == want && len(sets) == 0 {
		return nil
	}
	e.Logger.Warn("the cluster differs from the live release: rolling it out again", "app", app.Name,
		"live", live.Version, "deployment_release", p.Release, "pods", p.Wanted, "want", want, "release_sets", sets)
	_, err = e.launch(ctx, store.Rollout{AppID: app.ID, Kind: store.KindRecover, FromRelease: app.LiveRelease, ToRelease: app.LiveRelease,
		Instances: want, CreatedBy: "nonstop"}, live)
	return err
}

// clusterStop scales the app's stable Deployment to no pods.
func (e *Engine) clusterStop(ctx context.Context, r *store.Rollout, app *store.App) error {
	g, err := e.goalOf(ctx, r, app.LiveRelease, 0)
	if err != nil || g.release == nil {
		return err
	}
	if err := e.clusterTidy(ctx, app, g.spec()); err != nil {
		return err
	}
	return e.clusterRoll(ctx, r, g, 0)
}

// deleteFromCluster removes a deleted app's objects from the cluster, in
// the namespaces of every release it had (a release can move it).
func (e *Engine) deleteFromCluster(ctx context.Context, app *store.App) error {
	rels, err := e.Store.Releases(ctx, app.ID)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, rel := range rels {
		ns := kubernetes.Namespace(app.Name, &rel.Spec)
		if !onCluster(&rel.Spec) || done[ns] {
			continue
		}
		if e.Cluster == nil {
			return fmt.Errorf("app %s runs on kubernetes and this server has no cluster (--kubeconfig): %w", app.Name, ErrUnsupported)
		}
		if err := e.Cluster.DeleteApp(ctx, app.Name, &rel.Spec); err != nil {
			return err
		}
		done[ns] = true
	}
	return nil
}

// maxClusterName is the longest app name on Kubernetes: its objects'
// names add suffixes (APP-v123, APP-build-12-abcdef) and some must stay
// DNS labels of 63 characters at most.
const maxClusterName = 40

// checkMove refuses a deploy that would move an app onto or off
// Kubernetes, or to another namespace: its objects would be left behind,
// serving, where no rollout looks. Such a move is a new app. It also
// refuses an app name too long for Kubernetes.
func (e *Engine) checkMove(ctx context.Context, app *store.App, sp *spec.Spec) error {
	if onCluster(sp) && len(app.Name) > maxClusterName {
		return fmt.Errorf("app name %q: %d characters; on Kubernetes an app's name has at most %d (its objects add suffixes such as -v12): %w",
			app.Name, len(app.Name), maxClusterName, ErrInvalid)
	}
	if app.LiveRelease == 0 {
		return nil
	}
	live, err := e.Store.Release(ctx, app.ID, app.LiveRelease)
	if err != nil {
		return err
	}
	switch was, now := onCluster(&live.Spec), onCluster(sp); {
	case was != now:
		return fmt.Errorf("runtime %s → %s: an app cannot move onto or off Kubernetes by a deploy (v%d would keep running where no rollout looks): create a new app for it: %w",
			live.Spec.Runtime, sp.Runtime, live.Version, ErrInvalid)
	case now && kubernetes.Namespace(app.Name, &live.Spec) != kubernetes.Namespace(app.Name, sp):
		return fmt.Errorf("kubernetes.namespace %s → %s: an app cannot change namespace by a deploy: create a new app for it: %w",
			kubernetes.Namespace(app.Name, &live.Spec), kubernetes.Namespace(app.Name, sp), ErrInvalid)
	}
	return nil
}

// pruneCluster removes the env Secrets of an app's dropped releases.
func (e *Engine) pruneCluster(ctx context.Context, app *store.App, dropped []int) {
	if e.Cluster == nil || len(dropped) == 0 {
		return
	}
	sp, err := e.clusterSpec(ctx, app)
	if sp == nil || err != nil {
		return
	}
	if err := e.Cluster.DeleteEnv(ctx, app.Name, sp, dropped); err != nil {
		e.Logger.Warn("remove old env secrets", "app", app.Name, "err", err)
	}
}
