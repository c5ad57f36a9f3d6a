package rollout

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nonstopdev/nonstop/internal/keylock"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// router gives the proxy each app's route as the store has it.
type router struct {
	store  *store.Store
	proxy  proxy.Controller
	fleets fleets
	suffix string      // app NAME is served at NAME.suffix
	locks  keylock.Map // app id → serialises the pushes of its route
}

// hosts returns the host names an app is served at.
func (rt *router) hosts(app *store.App) []string {
	return append([]string{app.Name + "." + rt.suffix}, app.Domains...)
}

// previewHost is where release version of app is served alone.
func (rt *router) previewHost(app *store.App, version int) string {
	return fmt.Sprintf("v%d.%s.%s", version, app.Name, rt.suffix)
}

// push gives the proxy the app's route as the store has it: the members
// its fleet serves, or the maintenance page when the app is stopped; the
// split and preview its rollout's step has (traffic.go); and the app's
// request hold, so that a rollout during a hold keeps it.
func (rt *router) push(ctx context.Context, appID int64) error {
	unlock, err := rt.locks.Lock(ctx, strconv.FormatInt(appID, 10))
	if err != nil {
		return fmt.Errorf("push the route of app %d: %w", appID, err)
	}
	defer unlock()
	app, err := rt.store.AppByID(ctx, appID)
	if err != nil {
		return err
	}
	traffic, err := rt.routingOf(ctx, app)
	if err != nil {
		return err
	}
	route := proxy.Route{App: app.Name, Hosts: rt.hosts(app), Maintenance: app.State == store.AppStopped}
	if v := traffic.preview; v > 0 {
		route.Previews = map[string]int{rt.previewHost(app, v): v}
	}
	if app.Hold != nil {
		route.Hold = &proxy.Hold{MaxWait: app.Hold.MaxWait, MaxQueue: app.Hold.MaxQueue}
	}
	f, err := rt.fleets.of(ctx, app)
	if err != nil {
		return err
	}
	backends, health, own, err := f.Backends(ctx, app, traffic.sets)
	if err != nil {
		return err
	}
	route.Backends, route.Health = backends, health
	route.Split = traffic.splitOf(route.Backends, own)
	if err := rt.proxy.SetRoute(ctx, route); err != nil {
		return fmt.Errorf("set route of %s: %w", app.Name, err)
	}
	return nil
}

// sync makes the proxy's routes the store's: one per app, none else.
func (rt *router) sync(ctx context.Context, apps []*store.App) error {
	want := map[string]bool{}
	for _, app := range apps {
		want[app.Name] = true
		if err := rt.push(ctx, app.ID); err != nil {
			return err
		}
	}
	routes, err := rt.proxy.Routes(ctx)
	if err != nil {
		return fmt.Errorf("list proxy routes: %w", err)
	}
	for _, r := range routes {
		if !want[r.App] {
			if err := rt.proxy.DeleteRoute(ctx, r.App); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove takes a deleted app's route away.
func (rt *router) remove(ctx context.Context, app *store.App) error {
	if err := rt.proxy.DeleteRoute(ctx, app.Name); err != nil && !errors.Is(err, proxy.ErrUnknownApp) {
		return fmt.Errorf("delete route of %s: %w", app.Name, err)
	}
	return nil
}
