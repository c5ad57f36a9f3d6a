package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Recover adopts each active instance the runtime still runs, records the
// ones that are gone, and stops the instances the runtime runs that no
// app counts as active (started just before a crash, before being
// recorded).
func (f *Fleet) Recover(ctx context.Context, apps []*store.App) error {
	known := map[string]bool{}
	for _, app := range apps {
		if err := f.adopt(ctx, app, known); err != nil {
			return err
		}
	}
	all, err := f.Runtime.List(ctx)
	if err != nil {
		return fmt.Errorf("list instances: %w", err)
	}
	for _, in := range all {
		if !known[in.ID] {
			if err := f.Runtime.Stop(ctx, in.ID, 0); err != nil {
				f.Logger.Warn("stop orphan instance", "instance", in.ID, "err", err)
			}
		}
	}
	return nil
}

// adopt takes back each active instance of app the runtime still runs.
func (f *Fleet) adopt(ctx context.Context, app *store.App, known map[string]bool) error {
	active, err := f.Store.ActiveInstances(ctx, app.ID)
	if err != nil {
		return err
	}
	for _, in := range active {
		_, err := f.Runtime.Adopt(ctx, in.ID)
		switch {
		case err == nil:
			known[in.ID] = true
		case errors.Is(err, runtime.ErrNotFound):
			state := store.InstanceStopped
			if in.State == store.InstanceStarting {
				state = store.InstanceFailed
			}
			f.Logger.Warn("instance gone while nonstop was down", "app", app.Name, "instance", in.ID)
			if err := f.Store.SetInstanceState(ctx, in.ID, state, ""); err != nil {
				return err
			}
		default:
			return fmt.Errorf("adopt instance %s: %w", in.ID, err)
		}
	}
	return nil
}

// Delete drains and stops every active instance of a deleted app (its
// route is gone already) and removes every instance's files and logs.
func (f *Fleet) Delete(ctx context.Context, app *store.App) error {
	active, err := f.Store.ActiveInstances(ctx, app.ID)
	if err != nil {
		return err
	}
	for _, in := range active {
		if in.State == store.InstanceServing || in.State == store.InstanceDraining {
			if _, err := f.Proxy.Drain(ctx, []string{in.Addr}, 30*time.Second); err != nil {
				f.Logger.Warn("drain an instance of a deleted app", "app", app.Name, "instance", in.ID, "err", err) // stopped all the same
			}
		}
		if err := f.Runtime.Stop(ctx, in.ID, 10*time.Second); err != nil {
			return fmt.Errorf("stop %s: %w", in.ID, err)
		}
	}
	all, err := f.Store.Instances(ctx, app.ID, 100000)
	if err != nil {
		return err
	}
	for _, in := range all {
		f.remove(ctx, app, in.ID)
	}
	if ar, ok := f.Runtime.(runtime.AppRemover); ok {
		if err := ar.RemoveApp(ctx, app.Name); err != nil {
			f.Logger.Warn("remove what the runtime kept for a deleted app", "app", app.Name, "err", err) // the app is gone all the same
		}
	}
	return f.Accounts.Forget(ctx, app.Name)
}

// keepStoppedInstances is how many stopped instances keep their logs.
const keepStoppedInstances = 20

// Prune removes the app's images but those kept, and the logs of old
// stopped instances.
func (f *Fleet) Prune(ctx context.Context, app *store.App, _ []int, keepImages []string) {
	if f.Images != nil {
		if err := f.Images.PruneImages(ctx, app.Name, keepImages); err != nil {
			f.Logger.Warn("remove old images", "app", app.Name, "err", err)
		}
	}
	all, err := f.Store.Instances(ctx, app.ID, 1000)
	if err != nil {
		return
	}
	stopped := 0
	for _, in := range all {
		if in.State == store.InstanceStopped || in.State == store.InstanceFailed {
			if stopped++; stopped > keepStoppedInstances {
				f.remove(ctx, app, in.ID)
			}
		}
	}
}

// remove removes a stopped instance's files and logs; what cannot be
// removed is said and left (the next prune tries again).
func (f *Fleet) remove(ctx context.Context, app *store.App, id string) {
	if err := f.Runtime.Remove(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		f.Logger.Warn("remove an old instance", "app", app.Name, "instance", id, "err", err)
	}
}
