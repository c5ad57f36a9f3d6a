package process

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Stop stops an instance for good: it records the stop in state.json first
// (so no Runtime restarts or adopts it again), ends its supervision, sends
// SIGTERM to its whole process group, waits up to grace for the process to
// exit, then SIGKILLs whatever remains of the group. If ctx ends first it
// kills at once. Stop works on instances this Runtime supervises and on any
// other found in Dir; a stopped or unknown instance is not an error.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	if !validID(id) {
		return nil
	}
	unlock, err := r.keys.Lock(ctx, id)
	if err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	defer unlock()

	inst := r.instance(id)
	var rec record
	var saveErr error
	if inst != nil {
		var already bool
		if rec, already, saveErr = r.markStopping(inst); already {
			return nil
		}
		inst.cancel()
		<-inst.done
	} else {
		var ok bool
		if rec, ok, saveErr = r.markStoppedOnDisk(id); !ok {
			return saveErr
		}
	}
	// A stop that could not be recorded is still carried out: the process
	// is gone either way, and the next run finds nothing to adopt.
	code, ran, err := terminate(ctx, rec, grace)
	if rec.Cgroup != nil {
		rec.Cgroup.Kill() // what escaped the process group
	}
	if inst != nil {
		inst.mu.Lock()
		inst.state = runtime.StateExited
		if ran {
			inst.exitCode, inst.lastExit = code, time.Now()
		}
		inst.mu.Unlock()
	}
	r.log.Info("instance stopped", "id", id, "pid", rec.PID, "code", code)
	if err = errors.Join(saveErr, err); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	return nil
}

// StopAll stops every instance found in Dir, whoever started it (this
// Runtime, an earlier run, another process): what `nonstop shutdown` does.
// Instances are stopped concurrently, each with grace.
func (r *Runtime) StopAll(ctx context.Context, grace time.Duration) error {
	ids, err := r.ids()
	if err != nil {
		return fmt.Errorf("stop all: %w", err)
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = r.Stop(ctx, id, grace) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// markStopping marks a supervised instance as stopping and records the stop
// in state.json. already is true when it was stopped before.
func (r *Runtime) markStopping(inst *instance) (rec record, already bool, err error) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.stopping {
		return inst.rec, true, nil
	}
	inst.stopping = true
	unlock, err := r.lockState(inst.id)
	if err != nil {
		return inst.rec, false, err
	}
	defer unlock()
	// state.json wins over memory: another Runtime may have restarted the
	// process since this one last looked.
	if disk, derr := r.loadRecord(inst.id); derr == nil {
		inst.rec = disk
	}
	inst.rec.Stopped = true
	return inst.rec, false, r.saveRecord(inst.rec)
}

// markStoppedOnDisk records the stop of an instance this Runtime does not
// supervise. ok is false when there is nothing to stop.
func (r *Runtime) markStoppedOnDisk(id string) (rec record, ok bool, err error) {
	if _, err := r.loadRecord(id); err != nil {
		if errors.Is(err, runtime.ErrNotFound) {
			return record{}, false, nil
		}
		return record{}, false, fmt.Errorf("stop %s: %w", id, err)
	}
	unlock, err := r.lockState(id)
	if err != nil {
		return record{}, false, fmt.Errorf("stop %s: %w", id, err)
	}
	defer unlock()
	rec, err = r.loadRecord(id)
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) {
			return record{}, false, nil
		}
		return record{}, false, fmt.Errorf("stop %s: %w", id, err)
	}
	if rec.Stopped {
		return rec, false, nil
	}
	rec.Stopped = true
	return rec, true, r.saveRecord(rec)
}

// terminate ends rec's process group: SIGTERM, up to grace (or until ctx
// ends) for the leader to exit, then SIGKILL, and waits until no live member
// of the group remains (bounded). ran reports whether the leader was still
// running (or had exited unseen); code is its exit code when this process
// reaped it, else -1.
func terminate(ctx context.Context, rec record, grace time.Duration) (code int, ran bool, err error) {
	pid, ticks := rec.PID, rec.StartTicks
	if !groupOwned(pid, ticks) {
		return -1, false, nil // the PID names another process now: ours is long gone
	}
	exited, code := pollExit(pid, ticks)
	ran = !exited || code >= 0 // running, or its exit not seen by the supervisor yet
	if err := signalGroup(pid, syscall.SIGTERM); err != nil {
		return -1, ran, err
	}
	if !exited {
		exited, code, err = waitLeader(ctx, pid, ticks, grace)
	}
	if groupOwned(pid, ticks) {
		_ = signalGroup(pid, syscall.SIGKILL)
	}
	if !exited {
		// SIGKILL cannot be ignored: this ends promptly, whatever ctx says.
		_, code, _ = waitLeader(context.Background(), pid, ticks, killWait)
	}
	// Members may have left the leader's sight (reparented): make sure
	// none is left, so none holds the port or writes to the log.
	deadline := time.Now().Add(killWait)
	for groupOwned(pid, ticks) && len(groupMembers(pid)) > 0 && time.Now().Before(deadline) {
		_ = signalGroup(pid, syscall.SIGKILL)
		time.Sleep(stopPoll)
	}
	return code, ran, err
}

// waitLeader polls until the process exits, d passes, or ctx ends (then it
// returns ctx's error).
func waitLeader(ctx context.Context, pid int, ticks uint64, d time.Duration) (exited bool, code int, err error) {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	for {
		if exited, code := pollExit(pid, ticks); exited {
			return true, code, nil
		}
		select {
		case <-ctx.Done():
			return false, -1, ctx.Err()
		case <-t.C:
			return false, -1, nil
		case <-tick.C:
		}
	}
}
