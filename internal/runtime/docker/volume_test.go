package docker

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/mount"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestDocker_VolumeIsMountedAtItsPathAndOutlivesContainersAndReleases(t *testing.T) {
	rt, err := New(t.Context(), Options{
		Scope:  runID,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	app := runID + "-vol"
	vname := "nonstop-" + app + "-data"
	removeVolumeAtEnd(t, vname) // after the containers: cleanups run last first
	spec := func(id string, release int) runtime.InstanceSpec {
		return runtime.InstanceSpec{ID: runID + "-" + id, App: app, Release: release, Image: testImage,
			Volumes: []runtime.Volume{{Name: "data", Path: "/data"}}}
	}

	first := spec("vol-1", 1)
	inst := start(t, rt, first)
	waitServing(t, inst.Addr, "/healthz")
	if body, _ := get(inst.Addr, "/env?k=NONSTOP_VOLUME_DATA"); body != "/data" {
		t.Errorf("$NONSTOP_VOLUME_DATA in the container: %q, want /data", body)
	}
	if body, ok := get(inst.Addr, "/file?path=/data/note&write=kept"); !ok {
		t.Fatalf("write /data/note: %s", body)
	}
	ins := inspect(t, first.ID)
	if len(ins.Mounts) != 1 || ins.Mounts[0].Type != mount.TypeVolume || ins.Mounts[0].Name != vname || ins.Mounts[0].Destination != "/data" {
		t.Errorf("mounts %+v: want volume %s at /data", ins.Mounts, vname)
	}
	if err := rt.Stop(t.Context(), first.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(t.Context(), first.ID); err != nil {
		t.Fatal(err)
	}

	vol, err := engine.cli.VolumeInspect(t.Context(), vname)
	if err != nil {
		t.Fatalf("volume after its container was removed: %v", err)
	}
	for k, v := range map[string]string{LabelManaged: "true", LabelScope: runID, LabelApp: app, LabelVolume: "data"} {
		if got := vol.Labels[k]; got != v {
			t.Errorf("volume label %s=%q, want %q", k, got, v)
		}
	}

	// The next release's container finds what the first one wrote.
	second := spec("vol-2", 2)
	inst = start(t, rt, second)
	waitServing(t, inst.Addr, "/healthz")
	if body, ok := get(inst.Addr, "/file?path=/data/note"); !ok || body != "kept" {
		t.Errorf("read /data/note in the second container: %q, want kept", body)
	}

	// Another installation sharing the Engine does not get this one's data.
	other, err := New(t.Context(), Options{Scope: runID + "-other"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	third := spec("vol-3", 2)
	removeAtEnd(t, third.ID)
	if _, err := other.Start(t.Context(), third); err == nil || !strings.Contains(err.Error(), "another nonstop installation") {
		t.Errorf("start in another scope: %v, want the volume refused", err)
	}
}

// removeVolumeAtEnd removes the named volume when the test ends.
func removeVolumeAtEnd(t *testing.T, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTime)
		defer cancel()
		if err := engine.cli.VolumeRemove(ctx, name, true); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove volume %s: %v", name, err)
		}
	})
}
