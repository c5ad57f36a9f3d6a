package api

import (
	"context"
	"io"
	"slices"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/store"
)

// What the API shows of an app's instances (or pods) comes from the fleet
// it runs on.

// urlsOf are where app's clients reach it when nonstop's proxy does not
// carry its traffic; ok is false when it does.
func (a *API) urlsOf(ctx context.Context, app *store.App) (urls []string, ok bool, err error) {
	f, err := a.Engine.FleetOf(ctx, app)
	if err != nil {
		return nil, false, err
	}
	return f.URLs(ctx, app)
}

// membersOf are the app's active members, or the most recent ones.
func (a *API) membersOf(ctx context.Context, app *store.App, activeOnly bool) ([]fleet.Member, error) {
	f, err := a.Engine.FleetOf(ctx, app)
	if err != nil {
		return nil, err
	}
	return f.Members(ctx, app, activeOnly)
}

// memberOf finds member id among the app's active members and its most
// recent ones (whose logs are kept); ok is false when it is neither.
func (a *API) memberOf(ctx context.Context, app *store.App, id string) (m fleet.Member, ok bool, err error) {
	for _, activeOnly := range []bool{true, false} {
		list, err := a.membersOf(ctx, app, activeOnly)
		if err != nil {
			return fleet.Member{}, false, err
		}
		if i := slices.IndexFunc(list, func(m fleet.Member) bool { return m.ID == id }); i >= 0 {
			return list[i], true, nil
		}
	}
	return fleet.Member{}, false, nil
}

// logsOf streams one member's output.
func (a *API) logsOf(ctx context.Context, app *store.App, id string, tail int, follow bool) (io.ReadCloser, error) {
	f, err := a.Engine.FleetOf(ctx, app)
	if err != nil {
		return nil, err
	}
	return f.Logs(ctx, app, id, tail, follow)
}
