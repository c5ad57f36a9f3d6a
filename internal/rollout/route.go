package rollout

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Hosts returns the host names an app is served at.
func (e *Engine) Hosts(app *store.App) []string {
	return append([]string{app.Name + "." + e.DomainSuffix}, app.Domains...)
}

// pushRoute gives the proxy the app's route as the store has it: the
// members its fleet serves, or the maintenance page when the app is
// stopped; the split and preview its rollout's step has (traffic.go); and
// the app's request hold, so that a rollout during a hold keeps it.
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
	backends, health, own, err := e.fleetOf(ctx, app).Backends(ctx, app, rt.sets)
	if err != nil {
		return err
	}
	route.Backends, route.Health = backends, health
	route.Split = rt.splitOf(route.Backends, own)
	if err := e.Proxy.SetRoute(ctx, route); err != nil {
		return fmt.Errorf("set route of %s: %w", app.Name, err)
	}
	return nil
}
