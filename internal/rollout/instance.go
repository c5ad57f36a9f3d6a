package rollout

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/health"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
)

// InstanceError is an instance that did not become healthy, with its last
// lines of output: what a user needs to see why.
type InstanceError struct {
	ID      string
	Err     error
	LastLog []string
}

func (e *InstanceError) Error() string {
	msg := fmt.Sprintf("instance %s: %v", e.ID, e.Err)
	if len(e.LastLog) > 0 {
		msg += "\nlast log lines of " + e.ID + ":\n  " + strings.Join(e.LastLog, "\n  ")
	}
	return msg
}

func (e *InstanceError) Unwrap() error { return e.Err }

func newInstanceID(app string, version int) string {
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("%s-v%d-%s", app, version, hex.EncodeToString(b))
}

// startInstance starts one instance of the goal's release, waits until it is
// healthy, and puts it in the route. On failure it leaves nothing running.
func (e *Engine) startInstance(ctx context.Context, r *store.Rollout, g *goal) error {
	sp := g.release.Spec
	id := newInstanceID(g.app.Name, g.release.Version)
	if err := e.Store.CreateInstance(ctx, store.Instance{ID: id, AppID: g.app.ID, Release: g.release.Version, RolloutID: r.ID}); err != nil {
		return err
	}
	if g.release.Image != "" && e.Images != nil {
		// The pinned image may be gone from this Engine (pruned, or never
		// here): fetch it by digest, so a rollback runs the same bytes.
		if _, err := e.Images.ResolveImage(ctx, g.release.Image); err != nil {
			e.logFailed(r, "record failed instance "+id, e.Store.SetInstanceState(context.WithoutCancel(ctx), id, store.InstanceFailed, ""))
			return &InstanceError{ID: id, Err: fmt.Errorf("image %s: %w", g.release.Image, err)}
		}
	}
	limits, err := instanceLimits(sp.Resources.Limits)
	if err != nil {
		e.logFailed(r, "record failed instance "+id, e.Store.SetInstanceState(context.WithoutCancel(ctx), id, store.InstanceFailed, ""))
		return &InstanceError{ID: id, Err: err}
	}
	inst, err := e.Runtime.Start(ctx, runtime.InstanceSpec{
		ID: id, App: g.app.Name, Release: g.release.Version,
		Dir: g.release.Dir, Command: sp.Run, Env: g.release.Env, Port: sp.Port, Image: g.release.Image,
		Volumes: func() (vs []runtime.Volume) {
			for _, v := range sp.Volumes {
				vs = append(vs, runtime.Volume{Name: v.Name, Path: v.Path})
			}
			return vs
		}(),
		Limits: limits,
	})
	if err != nil {
		e.logFailed(r, "record failed instance "+id, e.Store.SetInstanceState(context.WithoutCancel(ctx), id, store.InstanceFailed, ""))
		return &InstanceError{ID: id, Err: fmt.Errorf("start: %w", err)}
	}
	if err := e.Store.SetInstanceState(ctx, id, store.InstanceStarting, inst.Addr); err != nil {
		return err
	}
	e.event(r, "instance", fmt.Sprintf("instance %s (v%d) started at %s, waiting for %s to answer", id, g.release.Version, inst.Addr, sp.Health.Path), map[string]any{"instance": id})

	probe := health.Probe{Path: sp.Health.Path, Timeout: sp.Health.Timeout}
	alive := func() error {
		st, err := e.Runtime.Status(ctx, id)
		if err != nil {
			return err
		}
		if st.State != runtime.StateRunning || st.Restarts > 0 {
			return fmt.Errorf("exited with code %d", st.ExitCode)
		}
		return nil
	}
	err = health.WaitHealthy(ctx, probe, inst.Addr, sp.Health.Interval, sp.Health.HealthyThreshold, sp.Health.StartTimeout, alive)
	if err != nil {
		if e.stopping(ctx) {
			return errStopped // left starting: discarded when nonstop starts again
		}
		ierr := &InstanceError{ID: id, Err: err, LastLog: e.lastLines(id, 15)}
		e.discard(context.WithoutCancel(ctx), r, g, &store.Instance{ID: id, Addr: inst.Addr, State: store.InstanceStarting})
		return ierr
	}
	healthyAt := e.Now()
	if err := e.Store.SetInstanceState(ctx, id, store.InstanceServing, ""); err != nil {
		return err
	}
	if err := e.pushRoute(ctx, g.app.ID); err != nil {
		return err
	}
	cutover := e.Now().Sub(healthyAt)
	e.event(r, "instance", fmt.Sprintf("instance %s healthy, taking traffic (cut over in %s)", id, cutover.Round(time.Microsecond)),
		map[string]any{"instance": id, "cutover_us": cutover.Microseconds()})
	return nil
}

// retireInstance takes an instance out of the route, waits for its requests
// in flight to finish (up to the drain timeout), then stops it.
func (e *Engine) retireInstance(ctx context.Context, r *store.Rollout, g *goal, in *store.Instance) error {
	if in.State == store.InstanceStarting {
		return e.discard(ctx, r, g, in)
	}
	if in.State != store.InstanceDraining {
		if err := e.Store.SetInstanceState(ctx, in.ID, store.InstanceDraining, ""); err != nil {
			return err
		}
		if err := e.pushRoute(ctx, g.app.ID); err != nil {
			return err
		}
	}
	e.event(r, "instance", fmt.Sprintf("instance %s (v%d) out of the route, draining", in.ID, in.Release), map[string]any{"instance": in.ID})
	// Bounded here too, so a proxy that stops answering cannot hold the
	// rollout past the drain's own deadline.
	drainCtx, cancel := context.WithTimeout(ctx, g.spec().Deploy.DrainTimeout+drainMargin)
	left, err := e.Proxy.Drain(drainCtx, []string{in.Addr}, g.spec().Deploy.DrainTimeout)
	cancel()
	if err != nil {
		return fmt.Errorf("drain %s: %w", in.ID, err)
	}
	if left > 0 {
		e.event(r, "instance", fmt.Sprintf("instance %s: drain timeout (%s) reached with %d requests in flight; their connections are closed", in.ID, g.spec().Deploy.DrainTimeout, left), nil)
	}
	if err := e.Runtime.Stop(ctx, in.ID, g.spec().Deploy.StopTimeout); err != nil {
		return fmt.Errorf("stop %s: %w", in.ID, err)
	}
	if err := e.Store.SetInstanceState(ctx, in.ID, store.InstanceStopped, ""); err != nil {
		return err
	}
	e.event(r, "instance", fmt.Sprintf("instance %s stopped", in.ID), map[string]any{"instance": in.ID})
	return nil
}

// discard stops an instance that never took traffic.
func (e *Engine) discard(ctx context.Context, r *store.Rollout, g *goal, in *store.Instance) error {
	if err := e.Runtime.Stop(ctx, in.ID, g.spec().Deploy.StopTimeout); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("stop %s: %w", in.ID, err)
	}
	if err := e.Store.SetInstanceState(ctx, in.ID, store.InstanceFailed, ""); err != nil {
		return err
	}
	e.event(r, "instance", fmt.Sprintf("instance %s stopped (it never took traffic)", in.ID), map[string]any{"instance": in.ID})
	return nil
}

// lastLines returns up to n of an instance's last output lines.
func (e *Engine) lastLines(id string, n int) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rc, err := e.Runtime.Logs(ctx, id, n, false)
	if err != nil {
		return nil
	}
	defer rc.Close()
	var lines []string
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// drainMargin is how much longer than its drain timeout a drain may take
// to answer, over the proxy's control socket, before it counts as failed.
const drainMargin = 10 * time.Second
