// Package local is the fleet of this machine: an app's members are
// instances started by a runtime.Runtime (processes, containers), recorded
// in the store, health-gated by their own probes and routed by nonstop's
// proxy, which drains them before they stop.
package local

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nonstopdev/nonstop/internal/clock"
	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/sysuser"
)

// Images resolves and prunes the container images instances run; package
// internal/build/image does it with the Docker Engine and a registry.
type Images interface {
	// ResolveImage pulls ref and returns it pinned by digest.
	ResolveImage(ctx context.Context, ref string) (pinned string, err error)
	// PruneImages removes the app's images but the ones in keep.
	PruneImages(ctx context.Context, app string, keep []string) error
}

// Config wires a Fleet.
type Config struct {
	Store   *store.Store
	Runtime runtime.Runtime
	Proxy   proxy.Controller
	// Images, when set, makes the docker runtime available.
	Images Images
	Logger *slog.Logger
	Clock  clock.Clock
	// Accounts, when set, runs each process-runtime app as its own system
	// account, from a release folder only that account may enter.
	Accounts *sysuser.Accounts
	// StaticServer is the nonstop binary that a static site's instances
	// run (`nonstop static`), one every app's account may execute.
	StaticServer string
}

// Fleet runs apps on this machine.
type Fleet struct{ Config }

var _ fleet.Fleet = (*Fleet)(nil)

// New returns the local fleet.
func New(cfg Config) *Fleet {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Fleet{Config: cfg}
}

// Runs reports whether sp runs as a process or a container here.
func (f *Fleet) Runs(sp *spec.Spec) bool {
	return sp.Runtime == spec.RuntimeProcess || sp.Runtime == spec.RuntimeDocker
}

// Check refuses the docker runtime without a Docker Engine.
func (f *Fleet) Check(_ *store.App, _, sp *spec.Spec) error {
	if sp.Runtime == spec.RuntimeDocker && f.Images == nil {
		return fmt.Errorf("runtime docker: %w: this server has no Docker Engine (is dockerd running? see --docker-host)", fleet.ErrUnsupported)
	}
	return nil
}

// Measures: the proxy carries every app of this machine.
func (f *Fleet) Measures(*spec.Spec, bool) bool { return true }

// Prepare: the sets of this machine share the route; nothing to ready.
func (f *Fleet) Prepare(context.Context, fleet.Op, *fleet.Goal) error { return nil }

// Follow: members here move only by a rollout's own acts.
func (f *Fleet) Follow(context.Context, func(string)) error { return nil }

// URLs: the proxy carries every app of this machine.
func (f *Fleet) URLs(context.Context, *store.App) ([]string, bool, error) { return nil, false, nil }

// Complete checks, from the proxy's own view, that every member of g is
// in the route and healthy.
func (f *Fleet) Complete(ctx context.Context, op fleet.Op, g *fleet.Goal, _ bool) (string, error) {
	deadline := f.Clock.Now().Add(g.Spec().Health.Interval*3 + time.Second)
	for {
		statuses, err := f.Proxy.Status(ctx, g.App.Name)
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		sick := ""
		serving := 0
		for _, st := range statuses {
			if st.Release == g.Version() {
				serving++
				if !st.Healthy {
					sick = fmt.Sprintf("instance %s is unhealthy in the proxy: %s", st.ID, st.LastErr)
				}
			}
		}
		if serving != g.N {
			sick = fmt.Sprintf("the proxy routes to %d instances of v%d, want %d", serving, g.Version(), g.N)
		}
		if sick == "" {
			return fmt.Sprintf("%d instance(s)", g.N), nil
		}
		if f.Clock.Now().After(deadline) {
			return "", fmt.Errorf("verify: %s", sick)
		}
		select {
		case <-ctx.Done():
			return "", fleet.Cut(ctx, op)
		case <-f.Clock.After(100 * time.Millisecond):
		}
	}
}

// Health names a member of g's release the proxy's health checks took out.
func (f *Fleet) Health(ctx context.Context, g *fleet.Goal) fleet.Health {
	sts, err := f.Proxy.Status(ctx, g.App.Name)
	if err != nil {
		return fleet.Health{Unknown: err.Error()}
	}
	for _, st := range sts {
		if st.Release == g.Version() && !st.Healthy {
			return fleet.Health{Sick: fmt.Sprintf("canary heartbeat failed: instance %s is unhealthy: %s", st.ID, st.LastErr)}
		}
	}
	return fleet.Health{}
}
