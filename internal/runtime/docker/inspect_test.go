package docker

import (
	"errors"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestUsage_ReportsResourceUseOfARunningInstance(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("stats")
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz")
	check := func(what string) runtime.Usage {
		st := status(t, rt, spec.ID)
		if st.State != runtime.StateRunning || st.PID <= 0 || st.Restarts != 0 {
			t.Errorf("%s: status %+v: want running, a pid, no restarts", what, st)
		}
		u, err := rt.Usage(t.Context(), spec.ID)
		if err != nil {
			t.Fatalf("%s: usage: %v", what, err)
		}
		if u.MemoryBytes <= 0 || u.MemoryBytes > 1<<30 {
			t.Errorf("%s: memory %d bytes: want > 0 and plausible", what, u.MemoryBytes)
		}
		if max := 100 * float64(goruntime.NumCPU()) * 1.1; u.CPUPercent < 0 || u.CPUPercent > max {
			t.Errorf("%s: cpu %.2f%%: want within [0, %.0f]", what, u.CPUPercent, max)
		}
		t.Logf("%s: cpu %.3f%% (%.3fs in all), memory %d bytes", what, u.CPUPercent, u.CPUSeconds, u.MemoryBytes)
		return u
	}
	first := check("first status")
	if _, ok := get(inst.Addr, "/spin?d=500ms"); !ok {
		t.Fatal("spin failed")
	}
	// Since the first status, about 1.5s ago, the app burnt 0.5s of CPU.
	u := check("after burning 500ms of CPU")
	if u.CPUPercent < 5 {
		t.Errorf("cpu %.2f%% after burning 500ms of CPU since the last status: want it seen", u.CPUPercent)
	}
	if u.CPUSeconds-first.CPUSeconds < 0.4 {
		t.Errorf("cpu time %.3fs then %.3fs: want the 500ms burnt counted", first.CPUSeconds, u.CPUSeconds)
	}
}

func TestStatus_UnknownInstanceIsNotFound(t *testing.T) {
	rt := newRuntime(t)
	for _, id := range []string{runID + "-never-started", "../bad"} {
		if _, err := rt.Status(t.Context(), id); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("status %s: %v, want ErrNotFound", id, err)
		}
		if _, err := rt.Logs(t.Context(), id, 0, false); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("logs %s: %v, want ErrNotFound", id, err)
		}
	}
}

func TestAdopt_AFreshRuntimeFindsTheRunningContainer(t *testing.T) {
	first := newRuntime(t)
	spec := testSpec("adopt")
	spec.Release = 3
	inst := start(t, first, spec)
	waitServing(t, inst.Addr, "/healthz")
	first.Close() // the control plane stops; the container does not
	if _, err := first.Adopt(t.Context(), spec.ID); !errors.Is(err, ErrClosed) {
		t.Errorf("adopt after close: %v, want ErrClosed", err)
	}

	next := newRuntime(t)
	got, err := next.Adopt(t.Context(), spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Addr != inst.Addr || got.App != testApp || got.Release != 3 || got.ID != spec.ID || !got.StartedAt.Equal(inst.StartedAt) {
		t.Errorf("adopted %+v, want %+v", got, inst)
	}
	waitServing(t, got.Addr, "/")
	if st := status(t, next, spec.ID); st.State != runtime.StateRunning || st.Restarts != 0 {
		t.Errorf("status after adopt %+v: want running, never restarted", st)
	}

	if _, err := next.Adopt(t.Context(), runID+"-never-started"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("adopt unknown: %v, want ErrNotFound", err)
	}
	if err := next.Stop(t.Context(), spec.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := next.Adopt(t.Context(), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("adopt a stopped instance: %v, want ErrNotFound", err)
	}
}

func TestList_FindsManagedContainersByLabelInAllStates(t *testing.T) {
	rt := newRuntime(t)
	running, stopped := testSpec("list-running"), testSpec("list-stopped")
	stopped.Release = 2
	want := map[string]runtime.Instance{
		running.ID: start(t, rt, running),
		stopped.ID: start(t, rt, stopped),
	}
	if err := rt.Stop(t.Context(), stopped.ID, 0); err != nil {
		t.Fatal(err)
	}
	// A container of the same image that nonstop did not create.
	foreign := containerName(runID + "-foreign")
	removeAtEnd(t, runID+"-foreign")
	if _, err := engine.cli.ContainerCreate(t.Context(), &container.Config{Image: testImage}, nil, nil, nil, foreign); err != nil {
		t.Fatal(err)
	}

	list, err := rt.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, inst := range list {
		if inst.ID == runID+"-foreign" || inst.ID == "" {
			t.Errorf("listed %+v: not nonstop's", inst)
		}
		w, ok := want[inst.ID]
		if !ok {
			continue
		}
		found++
		if inst.Addr != w.Addr || inst.App != w.App || inst.Release != w.Release {
			t.Errorf("listed %+v, want %+v", inst, w)
		}
	}
	if found != 2 {
		t.Errorf("found %d of the 2 instances in %+v", found, list)
	}
	if _, err := rt.Adopt(t.Context(), runID+"-foreign"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("adopt a foreign container: %v, want ErrNotFound", err)
	}
}
