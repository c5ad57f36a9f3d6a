package docker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestStop_SendsSIGTERMKeepsTheLogsAndIsIdempotent(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("stop")
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz")

	if err := rt.Stop(t.Context(), spec.ID, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	st := status(t, rt, spec.ID)
	if st.State != runtime.StateExited || st.ExitCode != 0 || st.PID != 0 {
		t.Errorf("status %+v: want exited with code 0 (a graceful stop, not SIGKILL)", st)
	}
	if out := logText(t, rt, spec.ID, 0); !strings.HasSuffix(out, "got terminated, shutting down\nbye\n") {
		t.Errorf("output %q: want the app's SIGTERM handling at the end", out)
	}
	if body, ok := get(inst.Addr, "/"); ok {
		t.Errorf("GET / after stop answered %q", body)
	}
	for _, id := range []string{spec.ID, runID + "-never-started", "../bad"} {
		if err := rt.Stop(t.Context(), id, time.Second); err != nil {
			t.Errorf("stop %s again or unknown: %v, want nil", id, err)
		}
	}
	if st := status(t, rt, spec.ID); st.State != runtime.StateExited || st.Restarts != 0 {
		t.Errorf("status after a second stop %+v: want exited, never restarted", st)
	}
}

func TestStop_KillsWhatIgnoresSIGTERMAfterTheGrace(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("stubborn")
	spec.Env = map[string]string{"IGNORE_SIGTERM": "1"}
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz")

	if err := rt.Stop(t.Context(), spec.ID, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st := status(t, rt, spec.ID); st.State != runtime.StateExited || st.ExitCode != 137 {
		t.Errorf("status %+v: want exited by SIGKILL (137)", st)
	}
	waitLog(t, rt, spec.ID, "got terminated, ignoring it\n")
}

func TestStop_KillsAtOnceWhenItsContextEnds(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("stop-ctx")
	spec.Env = map[string]string{"IGNORE_SIGTERM": "1"}
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz")

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := rt.Stop(ctx, spec.ID, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stop with a minute of grace and 300ms of context: %v, want DeadlineExceeded", err)
	}
	if st := status(t, rt, spec.ID); st.State != runtime.StateExited || st.ExitCode != 137 {
		t.Errorf("status %+v: want exited by SIGKILL (137)", st)
	}
	if err := rt.Stop(t.Context(), spec.ID, time.Minute); err != nil {
		t.Errorf("stop again: %v, want nil", err)
	}
}

func TestRemove_RefusesARunningInstanceThenCleansUp(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("remove")
	start(t, rt, spec)
	if err := rt.Remove(t.Context(), spec.ID); !errors.Is(err, ErrRunning) {
		t.Fatalf("remove while running: %v, want ErrRunning", err)
	}
	if err := rt.Stop(t.Context(), spec.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(t.Context(), spec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Status(t.Context(), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("status after remove: %v, want ErrNotFound", err)
	}
	if _, err := rt.Logs(t.Context(), spec.ID, 0, false); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("logs after remove: %v, want ErrNotFound", err)
	}
	if err := rt.Remove(t.Context(), spec.ID); err != nil {
		t.Errorf("remove again: %v, want nil", err)
	}
}

func TestPrune_RemovesStoppedContainersBeyondKeep(t *testing.T) {
	rt := newRuntime(t)
	app := runID + "-prune"
	var ids []string
	for _, name := range []string{"prune-1", "prune-2", "prune-3", "prune-live"} {
		spec := testSpec(name)
		spec.App = app
		start(t, rt, spec)
		ids = append(ids, spec.ID)
	}
	for _, id := range ids[:3] {
		if err := rt.Stop(t.Context(), id, 0); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := rt.Prune(t.Context(), app, 1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if !slices.Equal(removed, ids[:2]) {
		t.Errorf("pruned %v, want the 2 oldest stopped: %v", removed, ids[:2])
	}
	for _, id := range ids[2:] {
		if _, err := rt.Status(t.Context(), id); err != nil {
			t.Errorf("status %s after prune: %v, want it kept", id, err)
		}
	}
}
