package process

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/nonstopdev/nonstop/internal/cgroup"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/sysuser"
)

// spawn starts `sh -c spec.Command` in spec.Dir listening on port, in a new
// session (so a new process group, which nothing signals when the control
// plane dies), with stdout and stderr appended to output.log through a file
// the process holds itself, and $NONSTOP_VOLUME_<NAME> set to each of its
// volumes' folders (created when missing), inside the control group that
// caps it to its limits (see limitGroup). It returns the PID, the process
// start time and the group (nil: uncapped).
func (r *Runtime) spawn(spec runtime.InstanceSpec, port int) (pid int, startTicks uint64, group *cgroup.Group, err error) {
	own, err := r.volumeEnv(spec)
	if err != nil {
		return 0, 0, nil, err
	}
	own = append(own, "PORT="+strconv.Itoa(port))
	out, err := os.OpenFile(filepath.Join(r.instDir(spec.ID), logFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("open output log: %w", err)
	}
	defer out.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, 0, nil, err
	}
	defer null.Close()
	if group, err = r.limitGroup(spec); err != nil {
		return 0, 0, nil, err
	}

	base, sys := os.Environ(), &syscall.SysProcAttr{Setsid: true}
	if u := spec.User; u != nil {
		// An account of its own: its ids, no supplementary group of the
		// server's, and nothing of the server's environment.
		sys.Credential = u.Credential()
		base = u.Environ()
	}
	argv, files := []string{"sh", "-c", spec.Command}, []*os.File{null, out, out}
	var moved *os.File // v1: written once the process is in its group
	if group != nil {
		fd, inside, err := group.OpenFD()
		if err != nil {
			return 0, 0, nil, err
		}
		if inside { // v2: started inside its group
			defer syscall.Close(fd)
			sys.UseCgroupFD, sys.CgroupFD = true, fd
		} else {
			// v1 can only move a process that runs: its shell waits on fd
			// 3 until it is in its group, then runs the command, so that
			// nothing it starts runs outside.
			wait, w, err := os.Pipe()
			if err != nil {
				return 0, 0, nil, err
			}
			defer wait.Close()
			defer w.Close()
			moved, files = w, append(files, wait)
			argv = []string{"sh", "-c", `read -r _ <&3; exec 3<&-; exec "$0" -c "$1"`, r.sh, spec.Command}
		}
	}
	p, err := os.StartProcess(r.sh, argv, &os.ProcAttr{
		Dir:   spec.Dir,
		Env:   instanceEnv(base, spec.Env, own),
		Files: files,
		Sys:   sys,
	})
	if err != nil {
		return 0, 0, nil, fmt.Errorf("run %q: %w", spec.Command, err)
	}
	pid = p.Pid
	if moved != nil {
		err := group.Add(pid)
		if err == nil {
			_, err = moved.Write([]byte("\n"))
		}
		if err != nil {
			undoSpawn(pid)
			return 0, 0, nil, fmt.Errorf("apply resources.limits: %w", err)
		}
	}
	// The supervisor polls the PID (wait4 WNOHANG) instead of blocking in
	// p.Wait, so that it can stop without the process ending.
	_ = p.Release()
	st, err := readStat(pid)
	if err != nil { // cannot happen for an unreaped child; undo anyway
		undoSpawn(pid)
		return 0, 0, nil, fmt.Errorf("read start time of pid %d: %w", pid, err)
	}
	return pid, st.startTicks, group, nil
}

// undoSpawn kills and reaps a process spawn started and gives up on.
func undoSpawn(pid int) {
	_ = signalGroup(pid, syscall.SIGKILL)
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, 0, nil)
}

// instanceEnv is the environment of an instance: base without the control
// plane's own NONSTOP_ variables, then the app's env, then own (the
// runtime's KEY=VALUE pairs: volumes, PORT), which wins over both.
func instanceEnv(base []string, app map[string]string, own []string) []string {
	mine := make(map[string]bool, len(own))
	for _, kv := range own {
		k, _, _ := strings.Cut(kv, "=")
		mine[k] = true
	}
	env := make([]string, 0, len(base)+len(app)+len(own))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "NONSTOP_") || mine[k] {
			continue
		}
		if _, ok := app[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range slices.Sorted(maps.Keys(app)) {
		if !mine[k] {
			env = append(env, k+"="+app[k])
		}
	}
	return append(env, own...)
}

// volumeDir is the folder of app's volume name.
func (r *Runtime) volumeDir(app, name string) string {
	return filepath.Join(r.dir, volumesDir, app, name)
}

// volumeEnv creates the folders of spec's volumes that are missing (0700,
// its account's when it has one) and returns NONSTOP_VOLUME_<NAME>=FOLDER for each.
func (r *Runtime) volumeEnv(spec runtime.InstanceSpec) ([]string, error) {
	env := make([]string, 0, len(spec.Volumes)+1)
	for _, v := range spec.Volumes {
		if !validName(spec.App) || !validName(v.Name) {
			return nil, fmt.Errorf("volume %q of app %q: invalid name", v.Name, spec.App)
		}
		dir := r.volumeDir(spec.App, v.Name)
		if err := os.MkdirAll(filepath.Dir(filepath.Dir(dir)), 0o711); err != nil {
			return nil, fmt.Errorf("create volume %s: %w", v.Name, err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create volume %s: %w", v.Name, err)
		}
		if spec.User != nil { // the app's volumes are its account's alone
			if err := sysuser.Own(filepath.Dir(dir), spec.User); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
		env = append(env, runtime.VolumeEnv(v.Name)+"="+dir)
	}
	return env, nil
}

// appendOutput appends one line of the runtime's own to the instance's
// output.log, so that `nonstop logs` shows why an instance restarted.
func (r *Runtime) appendOutput(id, line string) {
	f, err := os.OpenFile(filepath.Join(r.instDir(id), logFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = f.WriteString("[nonstop] " + line + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		r.log.Warn("write instance output", "id", id, "err", err)
	}
}
