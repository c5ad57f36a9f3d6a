package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// What the API shows of an app on Kubernetes: its pods, their output,
// and where its clients reach it.

// ClusterPods lists the pods of an app that runs on Kubernetes; ok is
// false for an app that does not.
func (e *Engine) ClusterPods(ctx context.Context, app *store.App) (pods []kubernetes.Pod, ok bool, err error) {
	sp, err := e.clusterSpec(ctx, app)
	if sp == nil || err != nil {
		return nil, false, err
	}
	pods, err = e.Cluster.Pods(ctx, app.Name, sp)
	return pods, true, err
}

// clusterSpec is the spec of the app's newest release when that runs on
// Kubernetes (nil otherwise): where its objects are.
func (e *Engine) clusterSpec(ctx context.Context, app *store.App) (*spec.Spec, error) {
	if e.Cluster == nil {
		return nil, nil // no app runs on Kubernetes here
	}
	newest, err := e.Store.NewestRelease(ctx, app.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !onCluster(&newest.Spec) {
		return nil, err
	}
	return &newest.Spec, nil
}

// PodLogs streams the output of one of an app's pods.
func (e *Engine) PodLogs(ctx context.Context, app *store.App, pod string, tail int, follow bool) (io.ReadCloser, error) {
	sp, err := e.clusterSpec(ctx, app)
	if err != nil {
		return nil, err
	}
	if sp == nil {
		return nil, fmt.Errorf("app %s does not run on kubernetes: %w", app.Name, ErrInvalid)
	}
	return e.Cluster.PodLogs(ctx, app.Name, sp, pod, tail, follow)
}

// ClusterURLs are where an app on Kubernetes is reached when nonstop's
// proxy does not carry its traffic; ok is false for an app the proxy
// serves (any app off Kubernetes, or with --kube-pod-network).
func (e *Engine) ClusterURLs(ctx context.Context, app *store.App) (urls []string, ok bool, err error) {
	if e.PodNetwork || e.Cluster == nil {
		return nil, false, nil
	}
	sp, err := e.clusterSpec(ctx, app)
	if sp == nil || err != nil {
		return nil, false, err
	}
	urls, err = e.Cluster.URLs(ctx, app.Name, sp)
	return urls, true, err
}
