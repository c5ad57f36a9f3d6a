package process

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

const hog = `exec python3 -c 'import time; b = bytearray(256 << 20); print("allocated", flush=True); time.sleep(60)'`

func uniqueID(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// resources.limits hold on the process runtime: an instance over its
// memory limit is killed (and restarted, as any crash), one without limits
// is not; its group goes with the instance.
func TestStart_AnInstanceOverItsMemoryLimitIsKilled(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("resources.limits need cgroups, which need root: run the suite as root (make test does)")
	}
	rt := newRuntime(t, "", Options{})

	free := testSpec(t, uniqueID("free"), hog)
	start(t, rt, free)
	waitLog(t, rt, free.ID, "allocated")

	capped := testSpec(t, uniqueID("capped"), hog)
	capped.Limits = runtime.Limits{MemoryBytes: 64 << 20, NanoCPUs: 500_000_000}
	inst := start(t, rt, capped)
	rec, err := rt.loadRecord(capped.ID)
	if err != nil || rec.Cgroup == nil {
		t.Fatalf("state of a capped instance: %+v %v, want its cgroup", rec, err)
	}
	if !rec.Cgroup.Has(inst.PID) {
		t.Errorf("pid %d is not in its group %v", inst.PID, rec.Cgroup.Dirs)
	}
	out := waitLog(t, rt, capped.ID, "killed over its memory limit (resources.limits.memory)")
	if strings.Contains(out, "allocated") {
		t.Errorf("256 MiB allocated under a 64 MiB limit:\n%s", out)
	}

	if err := rt.Stop(t.Context(), capped.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(t.Context(), capped.ID); err != nil {
		t.Fatal(err)
	}
	for _, dir := range rec.Cgroup.Dirs {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the group %s is still there after Remove: %v", dir, err)
		}
	}
}

// What an instance's shell starts is in its group from its first moment:
// the shell waits to be in the group before it runs the command.
func TestStart_WhatACappedInstanceStartsIsCappedToo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("resources.limits need cgroups, which need root: run the suite as root (make test does)")
	}
	rt := newRuntime(t, "", Options{})
	sp := testSpec(t, uniqueID("child"), "sh -c 'echo child in $(grep -E \"^[0-9]+:(memory)?:\" /proc/self/cgroup | head -1)'; sleep 30")
	sp.Limits = runtime.Limits{MemoryBytes: 128 << 20}
	start(t, rt, sp)
	out := waitLog(t, rt, sp.ID, "child in")
	if !strings.Contains(out, "/nonstop/"+sp.ID+"\n") {
		t.Errorf("the instance's child is not in the instance's group:\n%s", out)
	}
}
