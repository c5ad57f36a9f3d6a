package process

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestProcess_VolumeOutlivesInstancesAndReleasesOfItsAppOnly(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	vols := []runtime.Volume{{Name: "data", Path: "/data"}}
	folder := filepath.Join(rt.dir, "volumes", "app", "data")

	first := testSpec(t, "vol-1", `echo "volume=$NONSTOP_VOLUME_DATA"; echo kept > "$NONSTOP_VOLUME_DATA/note" && echo written; exec sleep 1000`)
	first.Volumes = vols
	start(t, rt, first)
	waitLog(t, rt, first.ID, "volume="+folder+"\nwritten\n")
	if fi, err := os.Stat(folder); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("volume folder %s: %v, %v: want a 0700 folder", folder, err, fi)
	}
	if err := rt.Stop(t.Context(), first.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(t.Context(), first.ID); err != nil {
		t.Fatal(err)
	}

	// The next release's instance, in another release folder, finds the file.
	second := testSpec(t, "vol-2", `echo "read $(cat "$NONSTOP_VOLUME_DATA/note")"; exec sleep 1000`)
	second.Release, second.Volumes = 2, vols
	start(t, rt, second)
	waitLog(t, rt, second.ID, "read kept\n")

	// Another app's volume of the same name is another folder.
	other := testSpec(t, "vol-3", `test -e "$NONSTOP_VOLUME_DATA/note" && echo shared || echo "separate $NONSTOP_VOLUME_DATA"; exec sleep 1000`)
	other.App, other.Volumes = "other", vols
	start(t, rt, other)
	waitLog(t, rt, other.ID, "separate "+filepath.Join(rt.dir, "volumes", "other", "data")+"\n")

	if err := rt.StopAll(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{second.ID, other.ID} {
		if err := rt.Remove(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(folder, "note")); err != nil || string(b) != "kept\n" {
		t.Fatalf("volume after its instances were removed: %q, %v: want kept", b, err)
	}
}

func TestProcess_VolumesFolderIsNoInstance(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "vol-list-1", "exec sleep 1000")
	spec.Volumes = []runtime.Volume{{Name: "cache-2", Path: "/cache"}}
	start(t, rt, spec)

	list, err := rt.List(t.Context())
	if err != nil || len(list) != 1 || list[0].ID != spec.ID {
		t.Fatalf("list: %+v, %v: want only %s", list, err, spec.ID)
	}
	if _, err := rt.Start(t.Context(), testSpec(t, volumesDir, "true")); err == nil {
		t.Fatalf("start with id %q: want an error", volumesDir)
	}
	if err := rt.Remove(t.Context(), volumesDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rt.dir, volumesDir, "app", "cache-2")); err != nil {
		t.Fatalf("volume after Remove(%q): %v", volumesDir, err)
	}
}

func TestStart_RefusesAVolumeNameThatIsNoFolderName(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "vol-bad-1", "exec sleep 1000")
	spec.Volumes = []runtime.Volume{{Name: "../escape", Path: "/data"}}
	if _, err := rt.Start(t.Context(), spec); err == nil {
		t.Fatal("start with volume ../escape: want an error")
	}
	if _, err := os.Stat(filepath.Join(rt.dir, "escape")); !os.IsNotExist(err) {
		t.Fatalf("folder outside the volumes: %v", err)
	}
}
