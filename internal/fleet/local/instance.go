package local

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/health"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/sysuser"
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
func (f *Fleet) startInstance(ctx context.Context, op fleet.Op, g *fleet.Goal) error {
	sp := g.Release.Spec
	id := newInstanceID(g.App.Name, g.Release.Version)
	if err := f.Store.CreateInstance(ctx, store.Instance{ID: id, AppID: g.App.ID, Release: g.Release.Version, RolloutID: op.Rollout().ID}); err != nil {
		return err
	}
	if g.Release.Image != "" && f.Images != nil {
		// The pinned image may be gone from this Engine (pruned, or never
		// here): fetch it by digest, so a rollback runs the same bytes.
		if _, err := f.Images.ResolveImage(ctx, g.Release.Image); err != nil {
			f.markFailed(ctx, id)
			return &InstanceError{ID: id, Err: fmt.Errorf("image %s: %w", g.Release.Image, err)}
		}
	}
	limits, err := instanceLimits(sp.Resources.Limits)
	if err != nil {
		f.markFailed(ctx, id)
		return &InstanceError{ID: id, Err: err}
	}
	acct, err := f.accountOf(ctx, g)
	if err != nil {
		f.markFailed(ctx, id)
		return &InstanceError{ID: id, Err: err}
	}
	inst, err := f.Runtime.Start(ctx, runtime.InstanceSpec{
		User: acct,
		ID:   id, App: g.App.Name, Release: g.Release.Version,
		Dir: g.Release.Dir, Command: f.command(&sp), Env: g.Release.Env, Port: listenPort(&sp), Image: g.Release.Image,
		Volumes: func() (vs []runtime.Volume) {
			for _, v := range sp.Volumes {
				vs = append(vs, runtime.Volume{Name: v.Name, Path: v.Path})
			}
			return vs
		}(),
		Limits: limits,
	})
	if err != nil {
		f.markFailed(ctx, id)
		return &InstanceError{ID: id, Err: fmt.Errorf("start: %w", err)}
	}
	if err := f.Store.SetInstanceState(ctx, id, store.InstanceStarting, inst.Addr); err != nil {
		return err
	}
	op.Event("instance", fmt.Sprintf("instance %s (v%d) started at %s, waiting for %s to answer", id, g.Release.Version, inst.Addr, sp.Health.Path), map[string]any{"instance": id})

	probe := health.Probe{Path: sp.Health.Path, Timeout: sp.Health.Timeout}
	alive := func() error {
		st, err := f.Runtime.Status(ctx, id)
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
		if op.Stopping(ctx) {
			return fleet.ErrStopped // left starting: discarded when nonstop starts again
		}
		ierr := &InstanceError{ID: id, Err: err, LastLog: f.lastLines(id, 15)}
		f.discard(context.WithoutCancel(ctx), op, g, &store.Instance{ID: id, Addr: inst.Addr, State: store.InstanceStarting})
		return ierr
	}
	healthyAt := f.Clock.Now()
	if err := f.Store.SetInstanceState(ctx, id, store.InstanceServing, ""); err != nil {
		return err
	}
	if err := op.Route(ctx); err != nil {
		return err
	}
	cutover := f.Clock.Now().Sub(healthyAt)
	op.Event("instance", fmt.Sprintf("instance %s healthy, taking traffic (cut over in %s)", id, cutover.Round(time.Microsecond)),
		map[string]any{"instance": id, "cutover_us": cutover.Microseconds()})
	return nil
}

// retireInstance takes an instance out of the route, waits for its requests
// in flight to finish (up to the drain timeout), then stops it.
func (f *Fleet) retireInstance(ctx context.Context, op fleet.Op, g *fleet.Goal, in *store.Instance) error {
	if in.State == store.InstanceStarting {
		return f.discard(ctx, op, g, in)
	}
	if in.State != store.InstanceDraining {
		if err := f.Store.SetInstanceState(ctx, in.ID, store.InstanceDraining, ""); err != nil {
			return err
		}
		if err := op.Route(ctx); err != nil {
			return err
		}
	}
	op.Event("instance", fmt.Sprintf("instance %s (v%d) out of the route, draining", in.ID, in.Release), map[string]any{"instance": in.ID})
	// Bounded here too, so a proxy that stops answering cannot hold the
	// rollout past the drain's own deadline.
	drainCtx, cancel := context.WithTimeout(ctx, g.Spec().Deploy.DrainTimeout+drainMargin)
	left, err := f.Proxy.Drain(drainCtx, []string{in.Addr}, g.Spec().Deploy.DrainTimeout)
	cancel()
	if err != nil {
		return fmt.Errorf("drain %s: %w", in.ID, err)
	}
	if left > 0 {
		op.Event("instance", fmt.Sprintf("instance %s: drain timeout (%s) reached with %d requests in flight; their connections are closed", in.ID, g.Spec().Deploy.DrainTimeout, left), nil)
	}
	if err := f.Runtime.Stop(ctx, in.ID, g.Spec().Deploy.StopTimeout); err != nil {
		return fmt.Errorf("stop %s: %w", in.ID, err)
	}
	if err := f.Store.SetInstanceState(ctx, in.ID, store.InstanceStopped, ""); err != nil {
		return err
	}
	op.Event("instance", fmt.Sprintf("instance %s stopped", in.ID), map[string]any{"instance": in.ID})
	return nil
}

// discard stops an instance that never took traffic.
func (f *Fleet) discard(ctx context.Context, op fleet.Op, g *fleet.Goal, in *store.Instance) error {
	if err := f.Runtime.Stop(ctx, in.ID, g.Spec().Deploy.StopTimeout); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("stop %s: %w", in.ID, err)
	}
	if err := f.Store.SetInstanceState(ctx, in.ID, store.InstanceFailed, ""); err != nil {
		return err
	}
	op.Event("instance", fmt.Sprintf("instance %s stopped (it never took traffic)", in.ID), map[string]any{"instance": in.ID})
	return nil
}

// lastLines returns up to n of an instance's last output lines.
func (f *Fleet) lastLines(id string, n int) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rc, err := f.Runtime.Logs(ctx, id, n, false)
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

// markFailed records that instance id failed to start; a failure to say
// so is logged (the instance is then discarded at the next start).
func (f *Fleet) markFailed(ctx context.Context, id string) {
	if err := f.Store.SetInstanceState(context.WithoutCancel(ctx), id, store.InstanceFailed, ""); err != nil {
		f.Logger.Error("record failed instance", "instance", id, "err", err)
	}
}

// listenPort is the port an instance is told to listen on: a container's
// own port (port:, inside its network namespace); for a process, none
// (0): the runtime picks a free one and passes it in $PORT, so that no
// app listens where nonstop or another app does.
func listenPort(sp *spec.Spec) int {
	if sp.Runtime == spec.RuntimeDocker {
		return sp.Port
	}
	return 0
}

// accountOf is the account a process-runtime release runs as (nil: as
// nonstop itself, or in a container), with its release folder its own.
func (f *Fleet) accountOf(ctx context.Context, g *fleet.Goal) (*runtime.Account, error) {
	if g.Release.Spec.Runtime != spec.RuntimeProcess {
		return nil, nil
	}
	acct, err := f.Accounts.For(ctx, g.App.Name)
	if err != nil || acct == nil {
		return nil, err
	}
	if err := sysuser.Own(g.Release.Dir, acct); err != nil {
		return nil, err
	}
	return acct, nil
}

// command is what an instance of sp runs: its run command, or, for a
// static site, nonstop serving the site's folder.
func (f *Fleet) command(sp *spec.Spec) string {
	if sp.Static == "" {
		return sp.Run
	}
	server := f.StaticServer
	if server == "" {
		server = "nonstop"
	}
	return "exec " + shellQuote(server) + " static --dir " + shellQuote(sp.Static)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
