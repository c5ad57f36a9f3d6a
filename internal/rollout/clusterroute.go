package rollout

import (
	"context"
	"sync"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/store"
)

// With PodNetwork, nonstop's proxy carries the traffic of apps on
// Kubernetes: their routes list the ready endpoints of their Services'
// EndpointSlices, kept current by informers. Kubernetes' readiness
// probes decide which pods are in (the proxy runs no active check of its
// own on them; a failed connection is still retried on another pod).

// StartClusterRoutes follows the endpoints of the apps on the cluster and,
// once Recover is done (the splits it restores must be in place first),
// pushes their routes each time they move. It returns once the first
// listing is in; the following runs until Close.
func (e *Engine) StartClusterRoutes() error {
	if e.Cluster == nil || !e.PodNetwork {
		return nil
	}
	var mu sync.Mutex
	pending := map[string]bool{} // apps whose endpoints moved, not pushed yet
	kick := make(chan struct{}, 1)
	eps, err := e.Cluster.WatchEndpoints(e.ctx, func(app string) {
		mu.Lock()
		pending[app] = true
		mu.Unlock()
		select {
		case kick <- struct{}{}:
		default: // a push is due already; it takes this app too
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
		select {
		case <-e.ctx.Done():
			return
		case <-e.recovered:
		}
		for {
			select {
			case <-e.ctx.Done():
				return
			case <-kick:
			}
			mu.Lock()
			apps := pending
			pending = map[string]bool{}
			mu.Unlock()
			for name := range apps {
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
	// The stable Service's pods, and those of the set the split names:
	// a set out of the split (a failed canary being removed) gets nothing.
	var sets []int
	if split := e.splitOf(app.ID); split != nil {
		sets = append(sets, split.Release)
	}
	for _, ep := range eps.Of(kubernetes.Namespace(app.Name, sp), app.Name, sets...) {
		backends = append(backends, proxy.Backend{ID: ep.Pod, Addr: ep.Addr, Release: ep.Release})
	}
	return backends, true, nil
}
