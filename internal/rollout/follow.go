package rollout

import "sync"

// FollowFleets pushes an app's route each time its fleet says its members
// moved outside any rollout (on Kubernetes, pods' endpoints), once Recover
// is done (the routes it restores must be in place first). It returns once
// every fleet follows; the pushes go on until Close.
func (e *Engine) FollowFleets() error {
	var mu sync.Mutex
	pending := map[string]bool{} // apps whose members moved, not pushed yet
	kick := make(chan struct{}, 1)
	moved := func(app string) {
		mu.Lock()
		pending[app] = true
		mu.Unlock()
		select {
		case kick <- struct{}{}:
		default: // a push is due already; it takes this app too
		}
	}
	for _, f := range e.Fleets {
		if err := f.Follow(e.ctx, moved); err != nil {
			return err
		}
	}
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
				if err := e.routes.push(e.ctx, app.ID); err != nil {
					e.Logger.Warn("push a route after its members moved", "app", name, "err", err)
				}
			}
		}
	}()
	return nil
}
