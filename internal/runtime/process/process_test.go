package process

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestStart_GivesPortAndEnvButNotNonstopVars(t *testing.T) {
	t.Setenv("NONSTOP_TOKEN", "secret")
	t.Setenv("PROCESS_TEST_INHERITED", "yes")
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "env-1", `echo "port=$PORT greeting=$GREETING inherited=$PROCESS_TEST_INHERITED token=${NONSTOP_TOKEN-unset} dir=$(pwd)"; exec sleep 1000`)
	spec.Env = map[string]string{"GREETING": "hello"}
	inst := start(t, rt, spec)

	host, port, err := net.SplitHostPort(inst.Addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("addr %q: want 127.0.0.1 and a port", inst.Addr)
	}
	waitLog(t, rt, spec.ID, fmt.Sprintf("port=%s greeting=hello inherited=yes token=unset dir=%s\n", port, spec.Dir))
	if st := status(t, rt, spec.ID); st.State != runtime.StateRunning || st.PID != inst.PID || inst.PID <= 0 {
		t.Fatalf("status %+v, instance pid %d: want running with that pid", st, inst.PID)
	}
	for name, mode := range map[string]os.FileMode{spec.ID: 0o700, filepath.Join(spec.ID, stateFile): 0o600, filepath.Join(spec.ID, logFile): 0o600} {
		fi, err := os.Stat(filepath.Join(rt.dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v: want %v", name, err, fi.Mode().Perm(), mode)
		}
	}
}

func TestStart_UsesTheGivenPort(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec(t, "port-1", `echo "port=$PORT"; exec sleep 1000`)
	spec.Port = port
	inst := start(t, rt, spec)
	if want := "127.0.0.1:" + strconv.Itoa(port); inst.Addr != want {
		t.Fatalf("addr %q, want %q", inst.Addr, want)
	}
	waitLog(t, rt, spec.ID, "port="+strconv.Itoa(port)+"\n")
}

func TestStart_FailureLeavesNothingRunning(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "bad-1", "exec sleep 1000")
	spec.Dir = filepath.Join(t.TempDir(), "missing")
	if _, err := rt.Start(t.Context(), spec); err == nil {
		t.Fatal("start in a missing folder: want an error")
	}
	if _, err := rt.Status(t.Context(), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("status after failed start: %v, want ErrNotFound", err)
	}
	if _, err := rt.Start(t.Context(), testSpec(t, "../escape", "true")); err == nil {
		t.Fatal("start with id ../escape: want an error")
	}
}

func TestStart_RefusesARunningID(t *testing.T) {
	dir := t.TempDir()
	a := newRuntime(t, dir, Options{})
	spec := testSpec(t, "dup-1", "exec sleep 1000")
	start(t, a, spec)
	if _, err := a.Start(t.Context(), spec); !errors.Is(err, ErrRunning) {
		t.Fatalf("second start: %v, want ErrRunning", err)
	}
	b := newRuntime(t, dir, Options{})
	if _, err := b.Start(t.Context(), spec); !errors.Is(err, ErrRunning) {
		t.Fatalf("start by another runtime: %v, want ErrRunning", err)
	}
}

func TestRemove_DeletesOnlyAStoppedInstance(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "rm-1", "exec sleep 1000")
	inst := start(t, rt, spec)
	list, err := rt.List(t.Context())
	if err != nil || len(list) != 1 || list[0].ID != spec.ID || list[0].PID != inst.PID || list[0].App != "app" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := rt.Remove(t.Context(), spec.ID); !errors.Is(err, ErrRunning) {
		t.Fatalf("remove running: %v, want ErrRunning", err)
	}
	if err := rt.Stop(t.Context(), spec.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(t.Context(), spec.ID); err != nil {
		t.Fatalf("remove stopped: %v", err)
	}
	if _, err := os.Stat(filepath.Join(rt.dir, spec.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("instance folder after remove: %v", err)
	}
	if list, _ := rt.List(t.Context()); len(list) != 0 {
		t.Fatalf("list after remove: %+v", list)
	}
	if _, err := rt.Status(t.Context(), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("status after remove: %v, want ErrNotFound", err)
	}
	if err := rt.Remove(t.Context(), spec.ID); err != nil {
		t.Fatalf("remove again: %v", err)
	}
}

func TestInstanceEnv_DropsNonstopVarsAndSetsTheRuntimesLast(t *testing.T) {
	got := instanceEnv(
		[]string{"HOME=/root", "NONSTOP_TOKEN=x", "PORT=1", "GREETING=base", "NONSTOPPABLE=y"},
		map[string]string{"GREETING": "app", "B": "2", "PORT": "3", "NONSTOP_VOLUME_DATA": "/app"},
		[]string{"NONSTOP_VOLUME_DATA=/vol", "PORT=8080"})
	want := []string{"HOME=/root", "NONSTOPPABLE=y", "B=2", "GREETING=app", "NONSTOP_VOLUME_DATA=/vol", "PORT=8080"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("env %q, want %q", got, want)
	}
}

func TestParseStat_CommandWithSpacesAndParens(t *testing.T) {
	line := "4631 (my (odd) cmd) S 1 4630 4630 0 -1 4227084 97 0 1 0 0 0 0 0 20 0 1 0 123456 2342912 1 0 0\n"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.state != 'S' || st.pgrp != 4630 || st.startTicks != 123456 {
		t.Fatalf("parsed %+v", st)
	}
	if _, err := parseStat([]byte("12 (x) S 1")); err == nil {
		t.Fatal("short line: want an error")
	}
}
