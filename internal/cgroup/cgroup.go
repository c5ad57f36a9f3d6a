// Package cgroup caps the CPU and memory of what the process runtime runs
// with Linux control groups: cgroup v2 where the machine has the unified
// hierarchy with the cpu and memory controllers, else the memory and cpu
// hierarchies of cgroup v1 (a hybrid machine's). It needs root.
//
// Each capped instance has a group of its own, named for it:
//
//	v2: /sys/fs/cgroup/nonstop/NAME (memory.max, memory.swap.max, cpu.max)
//	v1: MOUNT/SERVER/nonstop/NAME in the memory and cpu hierarchies, under
//	    the group the server runs in (memory.limit_in_bytes,
//	    memory.memsw.limit_in_bytes, cpu.cfs_quota_us)
//
// On v2 a process is started inside its group (clone3's CLONE_INTO_CGROUP,
// through syscall.SysProcAttr.CgroupFD); on v1 it is moved there with Add
// once it runs (the process runtime's shell waits for that before it runs
// the instance's command).
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuPeriod is the scheduling period of a CPU quota, in microseconds
// (the kernel's and Docker's default).
const cpuPeriod = 100_000

// Manager creates and removes groups in the machine's hierarchy.
type Manager struct {
	v2 string   // the v2 folder of nonstop's groups ("" on v1)
	v1 []string // on v1: the folders of nonstop's groups in the memory and cpu hierarchies
}

// Detect finds how this machine caps processes: v2 at /sys/fs/cgroup, else
// v1's memory and cpu hierarchies. The error says why neither can be used.
func Detect() (*Manager, error) {
	return detect("/sys/fs/cgroup", "/proc/self/cgroup")
}

func detect(root, self string) (*Manager, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("cgroups need root: nonstop does not run as root")
	}
	if b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")); err == nil {
		have := strings.Fields(string(b))
		for _, c := range []string{"memory", "cpu"} {
			if !slices.Contains(have, c) {
				return nil, fmt.Errorf("cgroup v2 at %s has no %s controller (it has %q)", root, c, have)
			}
		}
		return &Manager{v2: filepath.Join(root, "nonstop")}, nil
	}
	own, err := ownGroups(self)
	if err != nil {
		return nil, err
	}
	m := &Manager{}
	for _, c := range []string{"memory", "cpu"} {
		mount := filepath.Join(root, c)
		if _, err := os.Stat(filepath.Join(mount, "cgroup.procs")); err != nil {
			return nil, fmt.Errorf("no cgroup v2 at %s, and no cgroup v1 %s hierarchy at %s", root, c, mount)
		}
		m.v1 = append(m.v1, filepath.Join(mount, own[c], "nonstop"))
	}
	return m, nil
}

// ownGroups reads which v1 group the server is in, by controller, from
// /proc/self/cgroup ("4:memory:/a/b", "1:cpu,cpuacct:/").
func ownGroups(self string) (map[string]string, error) {
	b, err := os.ReadFile(self)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", self, err)
	}
	own := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			own[c] = filepath.Clean("/" + parts[2])
		}
	}
	return own, nil
}

// Version is 2 or 1: the hierarchy the groups are made in.
func (m *Manager) Version() int {
	if m.v2 != "" {
		return 2
	}
	return 1
}

// Group is one instance's control group: a folder per hierarchy.
type Group struct {
	Dirs []string `json:"dirs"`
	V2   bool     `json:"v2,omitempty"`
}

// Create makes (or finds) the group name and caps it to memory bytes and
// nanoCPUs billionths of a core; 0 leaves that one uncapped.
func (m *Manager) Create(name string, memory, nanoCPUs int64) (*Group, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("cgroup name %q is not a folder name", name)
	}
	if m.v2 != "" {
		return m.createV2(name, memory, nanoCPUs)
	}
	return m.createV1(name, memory, nanoCPUs)
}

func (m *Manager) createV2(name string, memory, nanoCPUs int64) (*Group, error) {
	// Controllers reach a group only when each parent hands them down.
	if err := enable(filepath.Dir(m.v2), "memory", "cpu"); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.v2, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", m.v2, err)
	}
	if err := enable(m.v2, "memory", "cpu"); err != nil {
		return nil, err
	}
	g := &Group{Dirs: []string{filepath.Join(m.v2, name)}, V2: true}
	if err := os.Mkdir(g.Dirs[0], 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create cgroup %s: %w", g.Dirs[0], err)
	}
	dir := g.Dirs[0]
	if memory > 0 {
		if err := write(dir, "memory.max", strconv.FormatInt(memory, 10)); err != nil {
			return nil, err
		}
		// No swap beyond the limit (the file is missing without swap accounting).
		if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
			if err := write(dir, "memory.swap.max", "0"); err != nil {
				return nil, err
			}
		}
	}
	if nanoCPUs > 0 {
		if err := write(dir, "cpu.max", fmt.Sprintf("%d %d", quota(nanoCPUs), cpuPeriod)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (m *Manager) createV1(name string, memory, nanoCPUs int64) (*Group, error) {
	g := &Group{}
	for _, base := range m.v1 {
		dir := filepath.Join(base, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		g.Dirs = append(g.Dirs, dir)
	}
	mem, cpu := g.Dirs[0], g.Dirs[1]
	if memory > 0 {
		v := strconv.FormatInt(memory, 10)
		if err := write(mem, "memory.limit_in_bytes", v); err != nil {
			return nil, err
		}
		// memory and swap together: no swap beyond the limit (the file is
		// missing without swap accounting).
		if _, err := os.Stat(filepath.Join(mem, "memory.memsw.limit_in_bytes")); err == nil {
			if err := write(mem, "memory.memsw.limit_in_bytes", v); err != nil {
				return nil, err
			}
		}
	}
	if nanoCPUs > 0 {
		if err := write(cpu, "cpu.cfs_period_us", strconv.Itoa(cpuPeriod)); err != nil {
			return nil, err
		}
		if err := write(cpu, "cpu.cfs_quota_us", strconv.FormatInt(quota(nanoCPUs), 10)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// quota is the CPU time per period, in microseconds, that nanoCPUs allow
// (at least the kernel's minimum of 1ms).
func quota(nanoCPUs int64) int64 {
	return max(nanoCPUs*cpuPeriod/1_000_000_000, 1000)
}

// OpenFD opens a v2 group's folder for SysProcAttr.CgroupFD, so that a
// process starts inside it; ok is false on v1, where Add moves it after.
func (g *Group) OpenFD() (fd int, ok bool, err error) {
	if !g.V2 {
		return -1, false, nil
	}
	fd, err = syscall.Open(g.Dirs[0], syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, false, fmt.Errorf("open cgroup %s: %w", g.Dirs[0], err)
	}
	return fd, true, nil
}

// Add moves process pid into the group.
func (g *Group) Add(pid int) error {
	for _, dir := range g.Dirs {
		if err := write(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// Has reports whether process pid is in the group (in each of its folders).
func (g *Group) Has(pid int) bool {
	for _, dir := range g.Dirs {
		if !slices.Contains(g.procs(dir), strconv.Itoa(pid)) {
			return false
		}
	}
	return len(g.Dirs) > 0
}

func (g *Group) procs(dir string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	return strings.Fields(string(b))
}

// OOMKills is how many times the kernel's OOM killer has killed a process
// of the group for being over its memory limit.
func (g *Group) OOMKills() int {
	file := "memory.oom_control" // v1, in the memory hierarchy (the first folder)
	if g.V2 {
		file = "memory.events"
	}
	b, _ := os.ReadFile(filepath.Join(g.Dirs[0], file))
	for line := range strings.SplitSeq(string(b), "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok {
			v, _ := strconv.Atoi(strings.TrimSpace(n))
			return v
		}
	}
	return 0
}

// Kill sends SIGKILL to what still runs in the group: what an instance
// left when it stopped (a child that escaped its process group).
func (g *Group) Kill() {
	for _, dir := range g.Dirs {
		for _, p := range g.procs(dir) {
			if pid, err := strconv.Atoi(p); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// Remove kills what still runs in the group and deletes it. A group
// already gone is no error.
func (g *Group) Remove() error {
	g.Kill()
	var errs []error
	for _, dir := range g.Dirs {
		errs = append(errs, rmdir(dir))
	}
	return errors.Join(errs...)
}

// rmdir removes an empty group, waiting (bounded) for killed processes
// to leave it.
func rmdir(dir string) error {
	var err error
	for range 100 {
		if err = syscall.Rmdir(dir); err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

// enable hands controllers down from dir to its children, those not yet.
func enable(dir string, controllers ...string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(dir, "cgroup.subtree_control"), err)
	}
	on := strings.Fields(string(b))
	for _, c := range controllers {
		if !slices.Contains(on, c) {
			if err := write(dir, "cgroup.subtree_control", "+"+c); err != nil {
				return err
			}
		}
	}
	return nil
}

func write(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %s to %s: %w", value, filepath.Join(dir, file), err)
	}
	return nil
}
