package process

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// newRuntime returns a Runtime on dir (a new temp dir when empty) with short
// backoffs; its cleanup stops every instance in dir and closes it.
func newRuntime(t *testing.T, dir string, opts Options) *Runtime {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	opts.Dir = dir
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.BackoffMin == 0 {
		opts.BackoffMin = 50 * time.Millisecond
	}
	if opts.BackoffMax == 0 {
		opts.BackoffMax = 400 * time.Millisecond
	}
	rt, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.StopAll(ctx, 0); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		rt.Close()
	})
	return rt
}

func testSpec(t *testing.T, id, command string) runtime.InstanceSpec {
	return runtime.InstanceSpec{ID: id, App: "app", Release: 1, Dir: t.TempDir(), Command: command}
}

func start(t *testing.T, rt *Runtime, spec runtime.InstanceSpec) runtime.Instance {
	t.Helper()
	inst, err := rt.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("start %s: %v", spec.ID, err)
	}
	return inst
}

// waitFor polls cond until it holds, for at most 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func logText(t *testing.T, rt *Runtime, id string, tail int) string {
	t.Helper()
	rc, err := rt.Logs(t.Context(), id, tail, false)
	if err != nil {
		t.Fatalf("logs %s: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read logs %s: %v", id, err)
	}
	return string(b)
}

// waitLog waits until the instance's output holds s, and returns it.
func waitLog(t *testing.T, rt *Runtime, id, s string) string {
	t.Helper()
	var out string
	waitFor(t, "output "+s, func() bool {
		out = logText(t, rt, id, 0)
		return strings.Contains(out, s)
	})
	return out
}

func status(t *testing.T, rt *Runtime, id string) runtime.Status {
	t.Helper()
	st, err := rt.Status(t.Context(), id)
	if err != nil {
		t.Fatalf("status %s: %v", id, err)
	}
	return st
}

// processGone reports whether pid has exited (a zombie has).
func processGone(pid int) bool {
	st, err := readStat(pid)
	return err != nil || dead(st.state)
}
