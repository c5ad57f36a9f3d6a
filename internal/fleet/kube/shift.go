package kube

import (
	"context"
	"fmt"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// How the traffic of an app on Kubernetes moves between its pod sets:
// shift (below) on every path it takes. With PodNetwork, nonstop's proxy
// is one of them: its routes list the ready endpoints of their Services'
// EndpointSlices, kept current by informers. Kubernetes' readiness probes
// decide which pods are in (the proxy runs no active check of its own on
// them; a failed connection is still retried on another pod).

// shift sends weight percent of the app's traffic to release's own set
// and the rest to the stable one (release 0: all to the stable one). Each
// path the traffic takes follows:
//   - nonstop's proxy, when it routes to the pods (--kube-pod-network):
//     its split, and a blue-green set's preview host before its switch;
//   - the HTTPRoute's weights, when the app names a Gateway;
//   - else the stable Service's selector, on a whole set (0 or 100 %).
//
// A split between 0 and 100 needs the proxy or a Gateway.
func (f *Fleet) shift(ctx context.Context, op fleet.Op, app *store.App, sp *spec.Spec, release, weight int) error {
	if f.PodNetwork {
		// The proxy's split follows the rollout's recorded step.
		if err := op.Route(ctx); err != nil {
			return err
		}
	}
	switch {
	case sp.Kubernetes.Gateway != nil:
		backends := []kubernetes.Backend{{Service: kubernetes.StableName(app.Name), Weight: 100 - weight}}
		if release > 0 {
			backends = append(backends, kubernetes.Backend{Service: kubernetes.SetName(app.Name, release), Weight: weight})
		}
		return f.Cluster.ApplyRoute(ctx, app.Name, sp, backends)
	case release == 0 || weight == 0:
		return f.Cluster.SelectSet(ctx, app.Name, sp, 0)
	case weight == 100:
		return f.Cluster.SelectSet(ctx, app.Name, sp, release)
	case f.PodNetwork:
		return nil // the proxy splits; the Service's own clients stay on stable
	}
	return fmt.Errorf("a %d%% split needs kubernetes.gateway or --kube-pod-network: %w", weight, fleet.ErrInvalid)
}

// Follow follows the endpoints of the apps on the cluster, with
// PodNetwork, and calls moved each time an app's move. It returns once
// the first listing is in; the informers run until ctx ends.
func (f *Fleet) Follow(ctx context.Context, moved func(app string)) error {
	if f.Cluster == nil || !f.PodNetwork {
		return nil
	}
	eps, err := f.Cluster.WatchEndpoints(ctx, moved)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.endpoints = eps
	f.mu.Unlock()
	return nil
}

// Backends are an app's ready pods as the proxy's backends, when the
// proxy reaches its pods: those of the stable Service and of the sets the
// routing names (any other set, such as a failed canary being removed,
// gets nothing). own lists the releases among them that run in a set of
// their own.
func (f *Fleet) Backends(ctx context.Context, app *store.App, sets []int) ([]proxy.Backend, proxy.Health, map[int]bool, error) {
	f.mu.Lock()
	eps := f.endpoints
	f.mu.Unlock()
	if eps == nil {
		return nil, proxy.Health{}, nil, nil
	}
	sp, err := f.specOf(ctx, app)
	if sp == nil || err != nil {
		return nil, proxy.Health{}, nil, err
	}
	var backends []proxy.Backend
	var own map[int]bool
	for _, ep := range eps.Of(kubernetes.Namespace(app.Name, sp), app.Name, sets...) {
		backends = append(backends, proxy.Backend{ID: ep.Pod, Addr: ep.Addr, Release: ep.Release})
		if ep.Own {
			if own == nil {
				own = map[int]bool{}
			}
			own[ep.Release] = true
		}
	}
	// Kubernetes' readiness decides: no active check of the proxy's own.
	return backends, proxy.Health{}, own, nil
}
