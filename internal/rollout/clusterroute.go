package rollout

import (
	"context"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/store"
)

// With PodNetwork, nonstop's proxy carries the traffic of apps on
// Kubernetes: their routes list the ready endpoints of their Services'
// EndpointSlices, kept current by informers. Kubernetes' readiness
// probes decide which pods are in (the proxy runs no active check of its
// own on them; a failed connection is still retried on another pod).

// StartClusterRoutes follows the endpoints of the apps on the cluster and
// pushes their routes each time they move. It returns once the first
// listing is in; the following runs until Close.
func (e *Engine) StartClusterRoutes() error {
	if e.Cluster == nil || !e.PodNetwork {
		return nil
	}
	kicks := make(chan string, 256)
	eps, err := e.Cluster.WatchEndpoints(e.ctx, func(app string) {
		select {
		case kicks <- app:
		default: // a burst: the apps in the queue get pushed anyway
		}
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.endpoints = eps
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			select {
			case <-e.ctx.Done():
				return
			case name := <-kicks:
				app, err := e.Store.App(e.ctx, name)
				if err != nil {
					continue // not an app of this installation, or deleted
				}
				if err := e.pushRoute(e.ctx, app.ID); err != nil {
					e.Logger.Warn("route to the pods", "app", name, "err", err)
				}
			}
		}
	}()
	return nil
}

// clusterBackends are an app's ready pods as the proxy's backends, when
// the app runs on Kubernetes and the proxy reaches its pods; ok is false
// otherwise.
func (e *Engine) clusterBackends(ctx context.Context, app *store.App) (backends []proxy.Backend, ok bool, err error) {
	e.mu.Lock()
	eps := e.endpoints
	e.mu.Unlock()
	if eps == nil {
		return nil, false, nil
	}
	sp, err := e.clusterSpec(ctx, app)
	if sp == nil || err != nil {
		return nil, false, err
	}
	for _, ep := range eps.Of(kubernetes.Namespace(app.Name, sp), app.Name) {
		backends = append(backends, proxy.Backend{ID: ep.Pod, Addr: ep.Addr, Release: ep.Release})
	}
	return backends, true, nil
}
