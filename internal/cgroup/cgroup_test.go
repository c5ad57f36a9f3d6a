package cgroup

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// machine returns this machine's Manager; the tests need root.
func machine(t *testing.T) *Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("cgroups need root: run the suite as root (make test does)")
	}
	m, err := Detect()
	if err != nil {
		t.Fatalf("this machine cannot cap processes: %v", err)
	}
	t.Logf("cgroup v%d", m.Version())
	return m
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// startIn starts command in g (inside it from the start on v2, moved at
// once on v1) and returns it; the test's end kills it and removes g.
func startIn(t *testing.T, g *Group, command string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	fd, ok, err := g.OpenFD()
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		defer syscall.Close(fd)
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !ok {
		if err := g.Add(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		if err := g.Remove(); err != nil {
			t.Errorf("remove the group: %v", err)
		}
	})
	return cmd
}

func TestCreate_AProcessOverItsMemoryLimitIsKilled(t *testing.T) {
	m := machine(t)
	g, err := m.Create(uniqueName("mem"), 64<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := startIn(t, g, `exec python3 -c 'import time; b = bytearray(256 << 20); print("allocated"); time.sleep(30)'`)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("256 MiB under a 64 MiB limit ended with %v, want the OOM killer's SIGKILL", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("256 MiB under a 64 MiB limit: still running after 20s")
	}
}

// cpuSeconds is the CPU time process pid has used.
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return float64(utime+stime) / 100 // USER_HZ
}

func TestCreate_AProcessGetsNoMoreCPUThanItsLimit(t *testing.T) {
	m := machine(t)
	g, err := m.Create(uniqueName("cpu"), 0, 100_000_000) // a tenth of a core
	if err != nil {
		t.Fatal(err)
	}
	cmd := startIn(t, g, "exec sh -c 'while :; do :; done'")
	start := cpuSeconds(t, cmd.Process.Pid)
	time.Sleep(2 * time.Second)
	used := cpuSeconds(t, cmd.Process.Pid) - start
	t.Logf("a spinning process capped at 0.1 core used %.2fs of CPU in 2s", used)
	if used > 0.5 { // uncapped it would use 2s
		t.Errorf("a process capped at 0.1 core used %.2fs of CPU in 2s", used)
	}
}

func TestRemove_KillsWhatTheGroupStillRunsAndDeletesIt(t *testing.T) {
	m := machine(t)
	g, err := m.Create(uniqueName("rm"), 64<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := startIn(t, g, "exec sleep 300")
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if !g.Has(cmd.Process.Pid) {
		t.Fatalf("process %d is not in its group %v", cmd.Process.Pid, g.Dirs)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the group's process still runs after Remove")
	}
	for _, dir := range g.Dirs {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("group folder %s after Remove: %v", dir, err)
		}
	}
	if err := g.Remove(); err != nil {
		t.Errorf("Remove again: %v", err)
	}
}

// On a v2 hierarchy (the machine's own, or a hybrid machine's second one
// without controllers) a process starts inside its group: no moment runs
// outside it.
func TestOpenFD_StartsAProcessInsideAV2Group(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("cgroups need root: run the suite as root (make test does)")
	}
	root := "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		root = "/sys/fs/cgroup/unified"
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		t.Fatalf("no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified")
	}
	dir := filepath.Join(root, uniqueName("nonstop-test"))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := &Group{Dirs: []string{dir}, V2: true}
	cmd := startIn(t, g, "exec sleep 300")
	if !g.Has(cmd.Process.Pid) {
		t.Fatalf("process %d did not start in %s", cmd.Process.Pid, dir)
	}
}

func TestDetect_SaysWhyAMachineCannotCap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("run the suite as root (make test does)")
	}
	root := t.TempDir()
	self := filepath.Join(root, "self")
	os.WriteFile(self, []byte("0::/\n"), 0o644)
	if _, err := detect(root, self); err == nil || !strings.Contains(err.Error(), "no cgroup v1 memory hierarchy") {
		t.Errorf("no hierarchy at all: %v", err)
	}
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpuset io pids\n"), 0o644)
	if _, err := detect(root, self); err == nil || !strings.Contains(err.Error(), "has no memory controller") {
		t.Errorf("v2 without memory: %v", err)
	}
}

func TestOwnGroups_ReadsTheServersV1Groups(t *testing.T) {
	self := filepath.Join(t.TempDir(), "cgroup")
	os.WriteFile(self, []byte("4:memory:/process_api/ab\n1:cpu,cpuacct:/system.slice/nonstop.service\n0::/\n"), 0o644)
	own, err := ownGroups(self)
	if err != nil {
		t.Fatal(err)
	}
	if own["memory"] != "/process_api/ab" || own["cpu"] != "/system.slice/nonstop.service" || own["cpuacct"] != own["cpu"] {
		t.Errorf("own groups %v", own)
	}
}
