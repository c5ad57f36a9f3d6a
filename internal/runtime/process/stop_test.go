package process

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestStop_SendsSIGTERMAndTheTrapRuns(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "term-1", `trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done`)
	inst := start(t, rt, spec)
	waitLog(t, rt, spec.ID, "ready\n")

	// A long grace: the trap's own exit, not a SIGKILL, must end it.
	if err := rt.Stop(t.Context(), spec.ID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	st := status(t, rt, spec.ID)
	if st.State != runtime.StateExited || st.ExitCode != 0 || st.PID != 0 {
		t.Fatalf("status %+v: want exited with code 0 (from the trap)", st)
	}
	if !strings.Contains(logText(t, rt, spec.ID, 0), "got TERM\n") {
		t.Fatal("the TERM trap did not run")
	}
	if !processGone(inst.PID) {
		t.Fatalf("pid %d still running", inst.PID)
	}
}

func TestStop_KillsAGroupThatIgnoresSIGTERMAfterGrace(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "stubborn-1", `trap "" TERM; sleep 1000 & echo "child=$!"; sleep 1000`)
	inst := start(t, rt, spec)
	out := waitLog(t, rt, spec.ID, "\n")
	m := regexp.MustCompile(`child=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q: no child pid", out)
	}
	child, _ := strconv.Atoi(m[1])
	if processGone(child) {
		t.Fatalf("child %d not running before stop", child)
	}

	if err := rt.Stop(t.Context(), spec.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st := status(t, rt, spec.ID); st.State != runtime.StateExited || st.ExitCode != 128+9 {
		t.Fatalf("status %+v: want exited by SIGKILL (137)", st)
	}
	if !processGone(inst.PID) {
		t.Errorf("leader %d still running", inst.PID)
	}
	if !processGone(child) {
		t.Errorf("child %d of the group still running", child)
	}
}

func TestStop_DuringBackoffDoesNotRestart(t *testing.T) {
	rt := newRuntime(t, "", Options{BackoffMin: 300 * time.Millisecond, BackoffMax: 300 * time.Millisecond})
	spec := testSpec(t, "backoff-1", `echo started; exit 1`)
	start(t, rt, spec)
	waitFor(t, "restarting", func() bool { return status(t, rt, spec.ID).State == runtime.StateRestarting })

	if err := rt.Stop(t.Context(), spec.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // past the backoff
	st := status(t, rt, spec.ID)
	if st.State != runtime.StateExited || st.Restarts != 0 || st.ExitCode != 1 {
		t.Fatalf("status %+v: want exited, code 1, no restart", st)
	}
	if n := strings.Count(logText(t, rt, spec.ID, 0), "started\n"); n != 1 {
		t.Fatalf("started %d times, want 1", n)
	}
	if rec, err := rt.loadRecord(spec.ID); err != nil || !rec.Stopped {
		t.Fatalf("state.json: %+v, %v: want stopped", rec, err)
	}
}

func TestStop_IsIdempotent(t *testing.T) {
	dir := t.TempDir()
	rt := newRuntime(t, dir, Options{})
	if err := rt.Stop(t.Context(), "unknown-1", time.Second); err != nil {
		t.Fatalf("stop unknown: %v", err)
	}
	spec := testSpec(t, "idem-1", "exec sleep 1000")
	start(t, rt, spec)
	for i := range 2 {
		if err := rt.Stop(t.Context(), spec.ID, time.Second); err != nil {
			t.Fatalf("stop #%d: %v", i+1, err)
		}
	}
	other := newRuntime(t, dir, Options{})
	if err := other.Stop(t.Context(), spec.ID, time.Second); err != nil {
		t.Fatalf("stop by another runtime: %v", err)
	}
	if st := status(t, other, spec.ID); st.State != runtime.StateExited {
		t.Fatalf("status %+v: want exited", st)
	}
}

func TestStopAll_StopsInstancesStartedByAnotherRuntime(t *testing.T) {
	dir := t.TempDir()
	a := newRuntime(t, dir, Options{})
	var insts []runtime.Instance
	for _, id := range []string{"all-1", "all-2"} {
		insts = append(insts, start(t, a, testSpec(t, id, "exec sleep 1000")))
	}

	b := newRuntime(t, dir, Options{})
	if err := b.StopAll(t.Context(), time.Second); err != nil {
		t.Fatal(err)
	}
	for _, inst := range insts {
		if !processGone(inst.PID) {
			t.Errorf("%s: pid %d still running", inst.ID, inst.PID)
		}
		// a still supervises them: the stop recorded by b must win.
		waitFor(t, inst.ID+" exited in a", func() bool { return status(t, a, inst.ID).State == runtime.StateExited })
	}
	time.Sleep(300 * time.Millisecond) // past a's backoff
	for _, inst := range insts {
		if st := status(t, a, inst.ID); st.State != runtime.StateExited || st.Restarts != 0 {
			t.Errorf("%s in a: %+v, want exited without restart", inst.ID, st)
		}
		if _, err := a.Adopt(t.Context(), inst.ID); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("adopt %s after StopAll: %v, want ErrNotFound", inst.ID, err)
		}
	}
}

func TestStop_KillsAtOnceWhenTheContextEnds(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "ctx-1", `trap "" TERM; echo ready; sleep 1000`)
	inst := start(t, rt, spec)
	waitLog(t, rt, spec.ID, "ready\n")

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := rt.Stop(ctx, spec.ID, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v, want the context's error", err)
	}
	if !processGone(inst.PID) {
		t.Fatalf("pid %d still running after the context ended", inst.PID)
	}
	if st := status(t, rt, spec.ID); st.State != runtime.StateExited {
		t.Fatalf("status %+v: want exited", st)
	}
}
