package docker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

const (
	testApp  = "hello"
	waitTime = 30 * time.Second // bound on every wait in these tests
)

// newRuntime returns a Runtime on the Engine, closed by the test's cleanup.
func newRuntime(t *testing.T) *Runtime {
	t.Helper()
	rt, err := New(t.Context(), Options{
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// testSpec returns a spec of testImage with an ID unique to this run.
func testSpec(name string) runtime.InstanceSpec {
	return runtime.InstanceSpec{ID: runID + "-" + name, App: testApp, Release: 1, Image: testImage}
}

// start starts spec and removes its container when the test ends.
func start(t *testing.T, rt *Runtime, spec runtime.InstanceSpec) runtime.Instance {
	t.Helper()
	removeAtEnd(t, spec.ID)
	inst, err := rt.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("start %s: %v", spec.ID, err)
	}
	return inst
}

// removeAtEnd force-removes the container of instance id when the test ends.
func removeAtEnd(t *testing.T, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTime)
		defer cancel()
		err := engine.cli.ContainerRemove(ctx, containerName(id), container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove %s: %v", containerName(id), err)
		}
	})
}

// waitFor polls cond until it holds, for at most waitTime.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get returns the body of GET http://addr/path and whether it answered 200.
func get(addr, path string) (string, bool) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return err.Error(), false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode == http.StatusOK
}

// waitServing waits until addr answers path with 200, and returns the body.
func waitServing(t *testing.T, addr, path string) string {
	t.Helper()
	var body string
	var ok bool
	waitFor(t, addr+path+" to answer", func() bool {
		body, ok = get(addr, path)
		return ok
	})
	return body
}

func status(t *testing.T, rt *Runtime, id string) runtime.Status {
	t.Helper()
	st, err := rt.Status(t.Context(), id)
	if err != nil {
		t.Fatalf("status %s: %v", id, err)
	}
	return st
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

func inspect(t *testing.T, id string) container.InspectResponse {
	t.Helper()
	ins, err := engine.cli.ContainerInspect(t.Context(), containerName(id))
	if err != nil {
		t.Fatalf("inspect %s: %v", containerName(id), err)
	}
	return ins
}
