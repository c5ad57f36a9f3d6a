package process

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// superviseLoop watches one instance until ctx ends (Stop, Close) or the
// instance is stopped, and starts it again after each exit.
func (r *Runtime) superviseLoop(ctx context.Context, inst *instance) {
	defer close(inst.done)
	var backoff time.Duration
	ooms := 0 // the OOM kills of the instance's group seen so far
	inst.mu.Lock()
	if g := inst.rec.Cgroup; g != nil {
		ooms = g.OOMKills()
	}
	inst.mu.Unlock()
	for {
		inst.mu.Lock()
		rec := inst.rec
		inst.mu.Unlock()
		code, ok := waitExit(ctx, rec.PID, rec.StartTicks)
		if !ok {
			return
		}
		now := time.Now()
		// What the leader left in its group would hold the port.
		if groupOwned(rec.PID, rec.StartTicks) {
			_ = signalGroup(rec.PID, syscall.SIGKILL)
		}
		if !r.noteExit(inst, code, now) {
			return
		}
		backoff = nextBackoff(backoff, now.Sub(rec.StartedAt), r.opts.BackoffMin, r.opts.BackoffMax)
		why := codeText(code)
		if g := rec.Cgroup; g != nil {
			if n := g.OOMKills(); n > ooms {
				why += ", killed over its memory limit (resources.limits.memory)"
				ooms = n
			}
		}
		msg := fmt.Sprintf("instance exited (%s); restarting in %s", why, backoff)
		r.appendOutput(inst.id, msg)
		r.log.Warn("instance exited", "id", inst.id, "pid", rec.PID, "code", code, "restart_in", backoff)
		r.emit(Event{ID: inst.id, App: rec.Spec.App, Release: rec.Spec.Release, Kind: EventExited,
			Message: msg, ExitCode: code, PID: rec.PID, Restarts: rec.Restarts, Time: now})

		for {
			if !sleep(ctx, backoff) {
				return
			}
			res, err := r.restart(inst)
			if res == restartStopped {
				return
			}
			if err == nil {
				inst.mu.Lock()
				rec = inst.rec
				inst.mu.Unlock()
				if res == restarted {
					msg := fmt.Sprintf("instance restarted (pid %d, restart %d)", rec.PID, rec.Restarts)
					r.log.Info("instance restarted", "id", inst.id, "pid", rec.PID, "restarts", rec.Restarts)
					r.emit(Event{ID: inst.id, App: rec.Spec.App, Release: rec.Spec.Release, Kind: EventRestarted,
						Message: msg, PID: rec.PID, Restarts: rec.Restarts, Time: time.Now()})
				}
				break
			}
			backoff = nextBackoff(backoff, 0, r.opts.BackoffMin, r.opts.BackoffMax)
			msg := fmt.Sprintf("restart failed: %v; retrying in %s", err, backoff)
			r.appendOutput(inst.id, msg)
			r.log.Error("instance restart failed", "id", inst.id, "err", err, "retry_in", backoff)
			r.emit(Event{ID: inst.id, App: rec.Spec.App, Release: rec.Spec.Release, Kind: EventRestartFailed,
				Message: msg, ExitCode: -1, Restarts: rec.Restarts, Time: time.Now()})
		}
	}
}

// nextBackoff is the delay before the next start of an instance that exited
// after running for ran, when the previous delay was prev (0: none yet). It
// doubles from min up to max, and starts over at min once an instance has
// run stably.
func nextBackoff(prev, ran, min, max time.Duration) time.Duration {
	if prev <= 0 || ran >= stableAfter {
		return min
	}
	next := prev * 2
	if next > max || next <= 0 {
		next = max
	}
	return next
}

// noteExit records an exit and reports whether the instance is to be
// started again: not when it is being stopped, nor when another Runtime
// recorded a stop (or removed it) in Dir.
func (r *Runtime) noteExit(inst *instance, code int, at time.Time) bool {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	inst.exitCode, inst.lastExit = code, at
	if !inst.stopping {
		disk, err := r.loadRecord(inst.id)
		if err == nil && !disk.Stopped || err != nil && !errors.Is(err, runtime.ErrNotFound) {
			inst.state = runtime.StateRestarting
			return true
		}
	}
	inst.state = runtime.StateExited
	return false
}

type restartResult int

const (
	restartFailed  restartResult = iota // retry after a backoff
	restarted                           // a new process runs
	restartFollow                       // another Runtime already restarted it: watch that process
	restartStopped                      // stopped or removed meanwhile: supervision ends
)

// restart starts inst again with its spec and port. Under the state lock it
// first reads state.json: a stop recorded there wins, and a process another
// Runtime started meanwhile is followed rather than doubled.
func (r *Runtime) restart(inst *instance) (restartResult, error) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.stopping {
		return restartStopped, nil
	}
	unlock, err := r.lockState(inst.id)
	if err != nil {
		if _, serr := r.loadRecord(inst.id); errors.Is(serr, runtime.ErrNotFound) {
			inst.state = runtime.StateExited
			return restartStopped, nil
		}
		return restartFailed, err
	}
	defer unlock()
	rec := inst.rec
	disk, err := r.loadRecord(inst.id)
	switch {
	case errors.Is(err, runtime.ErrNotFound) || err == nil && disk.Stopped:
		inst.state = runtime.StateExited
		return restartStopped, nil
	case err == nil && (disk.PID != rec.PID || disk.StartTicks != rec.StartTicks) && r.alive(disk):
		inst.rec, inst.state = disk, runtime.StateRunning
		return restartFollow, nil
	case err == nil:
		rec = disk
	}
	pid, ticks, group, err := r.spawn(rec.Spec, rec.Port)
	if err != nil {
		return restartFailed, err
	}
	rec.PID, rec.StartTicks, rec.BootID, rec.Cgroup = pid, ticks, r.bootID, group
	rec.StartedAt, rec.Restarts = time.Now(), rec.Restarts+1
	if err := r.saveRecord(rec); err != nil {
		// An instance that state.json does not name could be neither
		// adopted nor stopped by the next run: undo, and retry.
		killNow(pid, ticks)
		return restartFailed, err
	}
	inst.rec, inst.state = rec, runtime.StateRunning
	return restarted, nil
}

// waitExit polls until the process exits (ok) or ctx ends (!ok).
func waitExit(ctx context.Context, pid int, startTicks uint64) (code int, ok bool) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if exited, code := pollExit(pid, startTicks); exited {
			return code, true
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-t.C:
		}
	}
}

// sleep waits for d and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func codeText(code int) string {
	if code < 0 {
		return "code unknown"
	}
	return fmt.Sprintf("code %d", code)
}

func (r *Runtime) emit(e Event) {
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(e)
	}
}
