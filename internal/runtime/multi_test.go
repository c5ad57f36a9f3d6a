package runtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/runtime/process"
)

// Two real process runtimes stand for the process and the container
// runtime: what is checked is which one each call reaches.
func newPair(t *testing.T) (procDir, contDir string, proc, cont *process.Runtime) {
	t.Helper()
	procDir, contDir = t.TempDir(), t.TempDir()
	var err error
	if proc, err = process.New(process.Options{Dir: procDir}); err != nil {
		t.Fatal(err)
	}
	if cont, err = process.New(process.Options{Dir: contDir}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		proc.StopAll(ctx, time.Second)
		cont.StopAll(ctx, time.Second)
		proc.Close()
		cont.Close()
	})
	return procDir, contDir, proc, cont
}

func TestMulti_ImagesGoToTheContainerRuntimeAndCallsFollowTheInstance(t *testing.T) {
	ctx := context.Background()
	_, _, proc, cont := newPair(t)
	m := runtime.NewMulti(proc, cont)
	if _, err := m.Start(ctx, runtime.InstanceSpec{ID: "a-v1-p", App: "a", Release: 1, Dir: t.TempDir(), Command: "sleep 30"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(ctx, runtime.InstanceSpec{ID: "a-v2-c", App: "a", Release: 2, Dir: t.TempDir(), Command: "sleep 30", Image: "img@sha256:x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := proc.Status(ctx, "a-v1-p"); err != nil {
		t.Errorf("the plain instance is not in the process runtime: %v", err)
	}
	if _, err := cont.Status(ctx, "a-v2-c"); err != nil {
		t.Errorf("the image instance is not in the container runtime: %v", err)
	}
	// A fresh Multi (after a restart) finds the owner by asking.
	fresh := runtime.NewMulti(proc, cont)
	if err := fresh.Stop(ctx, "a-v2-c", time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := cont.Status(ctx, "a-v2-c"); st.State != runtime.StateExited {
		t.Errorf("stop did not reach the container runtime: %+v", st)
	}
	if st, _ := proc.Status(ctx, "a-v1-p"); st.State != runtime.StateRunning {
		t.Errorf("the plain instance was touched: %+v", st)
	}
	if list, err := fresh.List(ctx); err != nil || len(list) != 2 {
		t.Errorf("list: %v %v", list, err)
	}
	if err := fresh.Stop(ctx, "unknown", time.Second); err != nil {
		t.Errorf("stopping an unknown instance: %v", err)
	}
	if _, err := fresh.Status(ctx, "unknown"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("status of an unknown instance: %v", err)
	}
}

func TestMulti_WithoutAContainerRuntimeImagesAreRefused(t *testing.T) {
	_, _, proc, _ := newPair(t)
	m := runtime.NewMulti(proc, nil)
	_, err := m.Start(context.Background(), runtime.InstanceSpec{ID: "a-v1-x", App: "a", Release: 1, Dir: t.TempDir(), Command: "true", Image: "img"})
	if !errors.Is(err, runtime.ErrNoContainerRuntime) {
		t.Fatalf("got %v", err)
	}
}
