package rollout

import (
	"context"
	"fmt"
	"sync"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// How the traffic of an app on Kubernetes moves between its pod sets:
// clusterShift (below) on every path it takes. With PodNetwork, nonstop's
// proxy is one of them: its routes list the ready endpoints of their Services'
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
//
// own lists the releases among them that run in a set of their own.
func (e *Engine) clusterBackends(ctx context.Context, app *store.App, sets []int) (backends []proxy.Backend, own map[int]bool, ok bool, err error) {
	e.mu.Lock()
	eps := e.endpoints
	e.mu.Unlock()
	if eps == nil {
		return nil, nil, false, nil
	}
	sp, err := e.clusterSpec(ctx, app)
	if sp == nil || err != nil {
		return nil, nil, false, err
	}
	// The stable Service's pods, and those of the sets the routing names:
	// any other set (a failed canary being removed) gets nothing.
	for _, ep := range eps.Of(kubernetes.Namespace(app.Name, sp), app.Name, sets...) {
		backends = append(backends, proxy.Backend{ID: ep.Pod, Addr: ep.Addr, Release: ep.Release})
		if ep.Own {
			if own == nil {
				own = map[int]bool{}
			}
			own[ep.Release] = true
		}
	}
	return backends, own, true, nil
}

// clusterShift sends weight percent of the app's traffic to release's own
// set and the rest to the stable one (release 0: all to the stable one).
// Each path the traffic takes follows:
//   - nonstop's proxy, when it routes to the pods (--kube-pod-network):
//     its split, and a blue-green set's preview host before its switch;
//   - the HTTPRoute's weights, when the app names a Gateway;
//   - else the stable Service's selector, on a whole set (0 or 100 %).
//
// A split between 0 and 100 needs the proxy or a Gateway.
func (e *Engine) clusterShift(ctx context.Context, app *store.App, sp *spec.Spec, release, weight int) error {
	if e.PodNetwork {
		// The proxy's split follows the rollout's recorded step.
		if err := e.pushRoute(ctx, app.ID); err != nil {
			return err
		}
	}
	switch {
	case sp.Kubernetes.Gateway != nil:
		backends := []kubernetes.Backend{{Service: kubernetes.StableName(app.Name), Weight: 100 - weight}}
		if release > 0 {
			backends = append(backends, kubernetes.Backend{Service: kubernetes.SetName(app.Name, release), Weight: weight})
		}
		return e.Cluster.ApplyRoute(ctx, app.Name, sp, backends)
	case release == 0 || weight == 0:
		return e.Cluster.SelectSet(ctx, app.Name, sp, 0)
	case weight == 100:
		return e.Cluster.SelectSet(ctx, app.Name, sp, release)
	case e.PodNetwork:
		return nil // the proxy splits; the Service's own clients stay on stable
	}
	return fmt.Errorf("a %d%% split needs kubernetes.gateway or --kube-pod-network: %w", weight, ErrInvalid)
}
