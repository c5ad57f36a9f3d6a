package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestAdopt_ResumesSupervisionAfterAControlPlaneRestart(t *testing.T) {
	dir := t.TempDir()
	a := newRuntime(t, dir, Options{})
	spec := testSpec(t, "adopt-1", `echo "start port=$PORT"; exec sleep 1000`)
	inst := start(t, a, spec)
	waitLog(t, a, spec.ID, "start port=")
	a.Close()
	if processGone(inst.PID) {
		t.Fatal("the instance died with its runtime")
	}
	if _, err := a.Start(t.Context(), testSpec(t, "adopt-2", "true")); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: %v, want ErrClosed", err)
	}

	b := newRuntime(t, dir, Options{})
	got, err := b.Adopt(t.Context(), spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != inst.PID || got.Addr != inst.Addr || got.App != spec.App {
		t.Fatalf("adopted %+v, want %+v", got, inst)
	}
	if st := status(t, b, spec.ID); st.State != runtime.StateRunning || st.PID != inst.PID {
		t.Fatalf("status %+v: want running, pid %d", st, inst.PID)
	}

	if err := syscall.Kill(inst.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st runtime.Status
	waitFor(t, "restart by b", func() bool {
		st = status(t, b, spec.ID)
		return st.Restarts == 1 && st.State == runtime.StateRunning
	})
	if st.PID == inst.PID || processGone(st.PID) {
		t.Fatalf("status %+v: want a new live pid", st)
	}
	line := "start port=" + strings.Split(inst.Addr, ":")[1] + "\n"
	waitLog(t, b, spec.ID, line+"[nonstop] instance exited (code 137); restarting in 50ms\n"+line)
}

func TestAdopt_StoppedInstanceIsNotFound(t *testing.T) {
	dir := t.TempDir()
	a := newRuntime(t, dir, Options{})
	spec := testSpec(t, "stopped-1", "exec sleep 1000")
	start(t, a, spec)
	if err := a.Stop(t.Context(), spec.ID, 0); err != nil {
		t.Fatal(err)
	}
	a.Close()

	b := newRuntime(t, dir, Options{})
	if _, err := b.Adopt(t.Context(), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("adopt stopped: %v, want ErrNotFound", err)
	}
	if _, err := b.Adopt(t.Context(), "never-1"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("adopt unknown: %v, want ErrNotFound", err)
	}
}

func TestAdopt_DeadProcessIsNotFound(t *testing.T) {
	dir := t.TempDir()
	a := newRuntime(t, dir, Options{})
	spec := testSpec(t, "dead-1", "exec sleep 1000")
	inst := start(t, a, spec)
	a.Close()
	if err := syscall.Kill(inst.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kill", func() bool { return processGone(inst.PID) })

	b := newRuntime(t, dir, Options{})
	if _, err := b.Adopt(t.Context(), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("adopt dead: %v, want ErrNotFound", err)
	}
	if st := status(t, b, spec.ID); st.State != runtime.StateExited {
		t.Fatalf("status %+v: want exited", st)
	}
}

func TestInstance_OutlivesAKilledControlPlane(t *testing.T) {
	dir := t.TempDir()
	b := newRuntime(t, dir, Options{}) // its cleanup stops what the helper started

	cp := exec.Command(os.Args[0], "-test.run=^$")
	cp.Env = append(os.Environ(), controlPlaneEnv+"="+dir)
	cp.Stderr = os.Stderr
	stdout, err := cp.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cp.Process.Kill()
		cp.Wait()
	})
	var pid int
	if _, err := fmt.Fscan(stdout, &pid); err != nil {
		t.Fatalf("read the instance pid from the control plane: %v", err)
	}

	if err := cp.Process.Kill(); err != nil { // kill -9 the control plane
		t.Fatal(err)
	}
	cp.Wait()
	ticks := func() int { return strings.Count(logText(t, b, "survivor-1", 0), "tick\n") }
	n := ticks()
	waitFor(t, "output after the control plane died", func() bool { return ticks() > n })
	if processGone(pid) {
		t.Fatalf("instance %d died with the control plane", pid)
	}

	got, err := b.Adopt(t.Context(), "survivor-1")
	if err != nil || got.PID != pid {
		t.Fatalf("adopt: %+v, %v: want pid %d", got, err, pid)
	}
	if err := b.Stop(t.Context(), "survivor-1", time.Second); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Fatalf("instance %d still running after stop", pid)
	}
}
