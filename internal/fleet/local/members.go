package local

import (
	"context"
	"io"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Backends are the app's serving instances, checked by the proxy with the
// health of the newest release among them.
func (f *Fleet) Backends(ctx context.Context, app *store.App, _ []int) ([]proxy.Backend, proxy.Health, map[int]bool, error) {
	active, err := f.Store.ActiveInstances(ctx, app.ID)
	if err != nil {
		return nil, proxy.Health{}, nil, err
	}
	var backends []proxy.Backend
	newest := 0
	for _, in := range active {
		if in.State == store.InstanceServing {
			backends = append(backends, proxy.Backend{ID: in.ID, Addr: in.Addr, Release: in.Release})
			newest = max(newest, in.Release)
		}
	}
	if newest == 0 {
		newest = app.LiveRelease
	}
	h := healthOf(nil)
	if newest > 0 {
		if rel, err := f.Store.Release(ctx, app.ID, newest); err == nil {
			h = healthOf(&rel.Spec)
		}
	}
	return backends, h, nil, nil
}

// healthOf is the proxy's active check of a spec's instances.
func healthOf(sp *spec.Spec) proxy.Health {
	if sp == nil {
		var def spec.Spec
		def.ApplyDefaults(false)
		sp = &def
	}
	return proxy.Health{
		Path: sp.Health.Path, Interval: sp.Health.Interval, Timeout: sp.Health.Timeout,
		HealthyThreshold: sp.Health.HealthyThreshold, UnhealthyThreshold: sp.Health.UnhealthyThreshold,
	}
}

// Members joins what the store, the runtime and the proxy know of the
// app's instances: the active ones, or the 50 most recent.
func (f *Fleet) Members(ctx context.Context, app *store.App, activeOnly bool) ([]fleet.Member, error) {
	var list []*store.Instance
	var err error
	if activeOnly {
		list, err = f.Store.ActiveInstances(ctx, app.ID)
	} else {
		list, err = f.Store.Instances(ctx, app.ID, 50)
	}
	if err != nil {
		return nil, err
	}
	backends := fleet.ProxyStatuses(ctx, f.Proxy, app.Name)
	out := []fleet.Member{}
	for _, in := range list {
		m := fleet.Member{Instance: in}
		if rs, err := f.Runtime.Status(ctx, in.ID); err == nil {
			m.Runtime = &rs
		}
		if b, ok := backends[in.ID]; ok {
			m.Proxy = &b
		}
		out = append(out, m)
	}
	return out, nil
}

// Logs streams an instance's output.
func (f *Fleet) Logs(ctx context.Context, _ *store.App, id string, tail int, follow bool) (io.ReadCloser, error) {
	return f.Runtime.Logs(ctx, id, tail, follow)
}
