package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Stop stops an instance's container for good (the Engine no longer
// restarts it): the Engine sends the image's stop signal (SIGTERM unless the
// image says otherwise), waits up to grace, rounded up to whole seconds, then
// SIGKILLs it. If ctx ends first the container is killed at once. The
// container is kept, with its logs, until Remove. Stopping a stopped or
// unknown instance returns nil.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	if !validID(id) {
		return nil
	}
	unlock, err := r.keys.Lock(ctx, id)
	if err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	defer unlock()
	ins, err := r.inspect(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	// A restarting container is stopped too: that cancels its restart.
	secs := int(math.Ceil(max(grace, 0).Seconds()))
	err = r.cli.ContainerStop(ctx, ins.ID, container.StopOptions{Timeout: &secs})
	if err != nil && ctx.Err() != nil {
		// Out of time: kill now, on a context of our own.
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killWait)
		defer cancel()
		kerr := r.cli.ContainerKill(kctx, ins.ID, "KILL")
		if kerr == nil || cerrdefs.IsNotFound(kerr) || cerrdefs.IsConflict(kerr) {
			// Killed, gone, or not running any more.
			r.log.Info("instance killed", "id", id, "reason", ctx.Err())
			return fmt.Errorf("stop %s: killed: %w", id, ctx.Err())
		}
		err = errors.Join(err, kerr)
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	r.forget(ins.ID)
	r.log.Info("instance stopped", "id", id)
	return nil
}

// Remove deletes a stopped instance's container, its logs and anonymous
// volumes. It returns ErrRunning for a container that is running or
// restarting (Stop it first: Remove never skips the graceful stop), and nil
// for an unknown instance.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	unlock, err := r.keys.Lock(ctx, id)
	if err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	defer unlock()
	ins, err := r.inspect(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	if ins.State.Running || ins.State.Restarting {
		return fmt.Errorf("remove %s: %w: stop it first", id, ErrRunning)
	}
	if err := r.remove(ctx, ins.ID); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	return nil
}

// remove force-removes a container (force: a container left "dead" by the
// Engine is removed too) with its anonymous volumes.
func (r *Runtime) remove(ctx context.Context, containerID string) error {
	err := r.cli.ContainerRemove(ctx, containerID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	r.forget(containerID)
	return nil
}

// Prune is housekeeping: it removes app's stopped containers (exited,
// created or dead) except the keep most recently created, which stay for
// their logs, and returns the IDs of the instances it removed. Running and
// restarting containers are never touched. Remove does the same for one
// instance; Prune is for what a caller no longer tracks.
func (r *Runtime) Prune(ctx context.Context, app string, keep int) ([]string, error) {
	cs, err := r.list(ctx, filters.Arg("label", LabelManaged+"=true"), filters.Arg("label", LabelApp+"="+app), r.scopeFilter())
	if err != nil {
		return nil, fmt.Errorf("prune %s: %w", app, err)
	}
	// Newest first; the list has creation times in seconds, inspect has them
	// to the nanosecond.
	type stopped struct {
		id      string
		created time.Time
	}
	var cands []stopped
	for _, c := range cs {
		switch c.State {
		case container.StateRunning, container.StateRestarting, container.StatePaused, container.StateRemoving:
			continue
		}
		created := time.Unix(c.Created, 0)
		if ins, err := r.cli.ContainerInspect(ctx, c.ID); err == nil {
			if t := parseTime(ins.Created); !t.IsZero() {
				created = t
			}
		}
		cands = append(cands, stopped{c.Labels[LabelInstance], created})
	}
	slices.SortFunc(cands, func(a, b stopped) int { return b.created.Compare(a.created) })
	var removed []string
	var errs []error
	for _, c := range cands[min(max(keep, 0), len(cands)):] {
		id := c.id
		if err := r.Remove(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, id)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("prune %s: %w", app, err)
	}
	return removed, nil
}
