package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Bounds of a hold: a request waits at most MaxHoldWait, and at most
// MaxHoldQueue requests of an app wait at once.
const (
	MaxHoldWait  = 10 * time.Minute
	MaxHoldQueue = 100000
)

// Hold makes the proxy hold the app's new requests until Unhold: they wait,
// in the order they came, at most maxWait each and at most maxQueue at
// once (503 with Retry-After past either). Zero values take the proxy's
// defaults (30s, 10000). The hold is recorded before the route is pushed,
// so it outlives a restart and a rollout during it keeps holding. Holding
// an app already held with the same bounds changes nothing; with other
// bounds it is a conflict (the waiting requests keep the bounds they came
// under), so unhold first.
func (e *Engine) Hold(ctx context.Context, app *store.App, maxWait time.Duration, maxQueue int) (*store.Hold, error) {
	if maxWait < 0 || maxWait > MaxHoldWait {
		return nil, fmt.Errorf("max wait must be between 0 (the default, %s) and %s, got %s: %w", proxy.DefaultHold.MaxWait, MaxHoldWait, maxWait, ErrInvalid)
	}
	if maxQueue < 0 || maxQueue > MaxHoldQueue {
		return nil, fmt.Errorf("max queue must be between 0 (the default, %d) and %d, got %d: %w", proxy.DefaultHold.MaxQueue, MaxHoldQueue, maxQueue, ErrInvalid)
	}
	if maxWait == 0 {
		maxWait = proxy.DefaultHold.MaxWait
	}
	if maxQueue == 0 {
		maxQueue = proxy.DefaultHold.MaxQueue
	}
	h := &store.Hold{MaxWait: maxWait, MaxQueue: maxQueue, Since: e.Now().UTC()}
	if old := app.Hold; old != nil {
		if old.MaxWait != maxWait || old.MaxQueue != maxQueue {
			return nil, fmt.Errorf("app %s is already held (max wait %s, max queue %d) since %s; unhold it first to change the bounds: %w",
				app.Name, old.MaxWait, old.MaxQueue, old.Since.Format(time.RFC3339), store.ErrConflict)
		}
		h = old
	}
	if err := e.Store.SetAppHold(ctx, app.ID, h); err != nil {
		return nil, fmt.Errorf("hold %s: %w", app.Name, err)
	}
	if err := e.routes.push(ctx, app.ID); err != nil {
		return nil, fmt.Errorf("hold %s (recorded; the proxy gets it at the next route change): %w", app.Name, err)
	}
	e.Logger.Info("requests held", "app", app.Name, "max_wait", maxWait, "max_queue", maxQueue)
	return h, nil
}

// Unhold lets the app's held requests through, first come first, and new
// ones straight on. It reports whether the app was held; unholding an app
// that is not held is not an error (the route is pushed all the same).
func (e *Engine) Unhold(ctx context.Context, app *store.App) (wasHeld bool, err error) {
	if err := e.Store.SetAppHold(ctx, app.ID, nil); err != nil {
		return false, fmt.Errorf("unhold %s: %w", app.Name, err)
	}
	if err := e.routes.push(ctx, app.ID); err != nil {
		return false, fmt.Errorf("unhold %s (recorded; the proxy gets it at the next route change): %w", app.Name, err)
	}
	e.Logger.Info("requests let through", "app", app.Name, "was_held", app.Hold != nil)
	return app.Hold != nil, nil
}
