package rollout

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Hosts returns the host names an app is served at.
func (e *Engine) Hosts(app *store.App) []string {
	return append([]string{app.Name + "." + e.DomainSuffix}, app.Domains...)
}

// pushRoute gives the proxy the app's route as the store has it: every
// serving instance, or the maintenance page when the app is stopped; the
// split and preview its rollout's step has (traffic.go); and the app's
// request hold, so that a rollout during a hold keeps it.
func (e *Engine) pushRoute(ctx context.Context, appID int64) error {
	unlock, err := e.routes.Lock(ctx, strconv.FormatInt(appID, 10))
	if err != nil {
		return fmt.Errorf("push the route of app %d: %w", appID, err)
	}
	defer unlock()
	app, err := e.Store.AppByID(ctx, appID)
	if err != nil {
		return err
	}
	active, err := e.Store.ActiveInstances(ctx, appID)
	if err != nil {
		return err
	}
	rt, err := e.routingOf(ctx, app)
	if err != nil {
		return err
	}
	route := proxy.Route{App: app.Name, Hosts: e.Hosts(app), Maintenance: app.State == store.AppStopped}
	if v := rt.preview; v > 0 {
		route.Previews = map[string]int{e.previewHost(app, v): v}
	}
	if app.Hold != nil {
		route.Hold = &proxy.Hold{MaxWait: app.Hold.MaxWait, MaxQueue: app.Hold.MaxQueue}
	}
	newest := 0
	for _, in := range active {
		if in.State == store.InstanceServing {
			route.Backends = append(route.Backends, proxy.Backend{ID: in.ID, Addr: in.Addr, Release: in.Release})
			newest = max(newest, in.Release)
		}
	}
	if newest == 0 {
		newest = app.LiveRelease
	}
	h := healthOf(nil)
	if newest > 0 {
		if rel, err := e.Store.Release(ctx, app.ID, newest); err == nil {
			h = healthOf(&rel.Spec)
		}
	}
	route.Health = h
	pods, own, onCluster, err := e.clusterBackends(ctx, app, rt.sets)
	if err != nil {
		return err
	}
	if onCluster {
		route.Backends, route.Health = pods, proxy.Health{}
	}
	route.Split = rt.splitOf(route.Backends, own)
	if err := e.Proxy.SetRoute(ctx, route); err != nil {
		return fmt.Errorf("set route of %s: %w", app.Name, err)
	}
	return nil
}

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
